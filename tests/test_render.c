/* SPDX-License-Identifier: MIT */
/*
 * test_render.c - proves the CIM-XML and JSON forms of a CIM_Error with real
 * parsers (python3's xml.etree and json): every property is found by its
 * NAME with the right TYPE, arrays are PROPERTY.ARRAY, a NULL property has no
 * VALUE, and text that needs escaping comes back byte for byte. Also: a
 * short buffer is refused with the size it needs.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobstat.h"

/* Every kind of text: markup characters, quotes, CR/LF/TAB, a control byte, non-ASCII. */
#define NASTY "a<b>&c\"d'e\r\nf\tg\x01h \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ]]> --"

static const struct jst_error sample = {
	.error_type = 10,
	.other_error_type = NULL,
	.owning_entity = "jobstat & co",
	.message_id = "DISK0042",
	.message = NASTY,
	.n_message_arguments = 3,
	.message_arguments = {"/srv", NULL, "<arg>"},
	.perceived_severity = 6,
	.probable_cause = 47,
	.probable_cause_description = "Software Error",
	.n_recommended_actions = 0,
	.error_source = "root/cimv2:CIM_StorageVolume.DeviceID=\"disk0\"",
	.error_source_format = 2,
	.other_error_source_format = NULL,
	.cim_status_code = 4,
	.cim_status_code_description = "CIM_ERR_INVALID_PARAMETER",
	.hresult = 0x80070070,
	.context = 4,
	.file = "/srv/big.iso",
	.time = 1234567890123456789ull,
	.sequence = 3,
	.job_state = 10,
};

/* Checks both files; prints what failed and exits non-zero. */
static const char *checker =
	"import json, sys, xml.etree.ElementTree as ET\n"
	"nasty = 'a<b>&c\"d\\'e\\r\\nf\\tg\\ufffdh \\u00e9\\u20ac\\U0001F600 ]]> --'\n"
	"root = ET.parse(sys.argv[1]).getroot()\n"
	"assert root.tag == 'INSTANCE' and root.get('CLASSNAME') == 'CIM_Error', root.tag\n"
	"def prop(name):\n"
	"    p = root.findall(\"./PROPERTY[@NAME='%s']\" % name) + "
	"root.findall(\"./PROPERTY.ARRAY[@NAME='%s']\" % name)\n"
	"    assert len(p) == 1, (name, len(p))\n"
	"    return p[0]\n"
	"def scalar(name, typ):\n"
	"    p = prop(name)\n"
	"    assert p.tag == 'PROPERTY' and p.get('TYPE') == typ, (name, p.tag, p.get('TYPE'))\n"
	"    v = p.findall('VALUE')\n"
	"    return None if not v else (v[0].text or '')\n"
	"assert scalar('ErrorType', 'uint16') == '10'\n"
	"assert scalar('OtherErrorType', 'string') is None\n"
	"assert scalar('OwningEntity', 'string') == 'jobstat & co'\n"
	"assert scalar('MessageID', 'string') == 'DISK0042'\n"
	"assert scalar('Message', 'string') == nasty, repr(scalar('Message', 'string'))\n"
	"a = prop('MessageArguments')\n"
	"assert a.tag == 'PROPERTY.ARRAY' and a.get('TYPE') == 'string'\n"
	"vals = list(a.find('VALUE.ARRAY'))\n"
	"assert [v.tag for v in vals] == ['VALUE', 'VALUE.NULL', 'VALUE'], vals\n"
	"assert vals[0].text == '/srv' and vals[2].text == '<arg>'\n"
	"assert scalar('PerceivedSeverity', 'uint16') == '6'\n"
	"assert scalar('ProbableCause', 'uint16') == '47'\n"
	"assert scalar('ProbableCauseDescription', 'string') == 'Software Error'\n"
	"ra = prop('RecommendedActions')\n"
	"assert ra.tag == 'PROPERTY.ARRAY' and ra.find('VALUE.ARRAY') is None, 'NULL array'\n"
	"assert scalar('ErrorSource', 'string') == "
	"'root/cimv2:CIM_StorageVolume.DeviceID=\"disk0\"'\n"
	"assert scalar('ErrorSourceFormat', 'uint16') == '2'\n"
	"assert scalar('OtherErrorSourceFormat', 'string') is None\n"
	"assert scalar('CIMStatusCode', 'uint32') == '4'\n"
	"assert scalar('CIMStatusCodeDescription', 'string') == 'CIM_ERR_INVALID_PARAMETER'\n"
	"assert len(root) == 15, len(root)\n"
	"j = json.load(open(sys.argv[2], encoding='utf-8'))\n"
	"assert j['ErrorType'] == 10 and j['OtherErrorType'] is None\n"
	"assert j['Message'] == nasty.replace('\\ufffd', '\\x01'), repr(j['Message'])\n"
	"assert j['MessageArguments'] == ['/srv', None, '<arg>']\n"
	"assert j['RecommendedActions'] is None and j['CIMStatusCode'] == 4\n"
	"assert j['HResult'] == 0x80070070 and j['Context'] == 4 and j['File'] == '/srv/big.iso'\n"
	"assert j['Time'] == 1234567890123456789 and j['Sequence'] == 3 and j['JobState'] == 10\n"
	"assert j['ErrorSource'] == 'root/cimv2:CIM_StorageVolume.DeviceID=\"disk0\"'\n"
	"print('parsed: ok')\n";

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(s, f);
	fclose(f);
}

Test(render, real_parsers_find_every_property_by_name)
{
	char dir[] = "/tmp/jst-render-XXXXXX", xmlp[64], jsonp[64], pyp[64], cmd[256];
	size_t need = 0, need_json = 0;
	char *xml, *json;
	int status;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(jst_error_to_cimxml(&sample, NULL, 0, &need), JST_ETOOLONG);
	xml = malloc(need + 1);
	cr_assert_eq(jst_error_to_cimxml(&sample, xml, need, NULL), JST_ETOOLONG,
		     "one byte short: no room for the NUL");
	cr_assert_eq(jst_error_to_cimxml(&sample, xml, need + 1, NULL), 0);
	cr_assert_eq(strlen(xml), need);
	cr_assert_eq(jst_error_to_json(&sample, NULL, 0, &need_json), JST_ETOOLONG);
	json = malloc(need_json + 1);
	cr_assert_eq(jst_error_to_json(&sample, json, need_json + 1, NULL), 0);
	snprintf(xmlp, sizeof(xmlp), "%s/e.xml", dir);
	snprintf(jsonp, sizeof(jsonp), "%s/e.json", dir);
	snprintf(pyp, sizeof(pyp), "%s/check.py", dir);
	write_file(xmlp, xml);
	write_file(jsonp, json);
	write_file(pyp, checker);
	snprintf(cmd, sizeof(cmd), "python3 %s %s %s", pyp, xmlp, jsonp);
	status = system(cmd);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "python3 rejected the output (%#x):\n%s\n%s", status, xml, json);
	unlink(xmlp);
	unlink(jsonp);
	unlink(pyp);
	rmdir(dir);
	free(xml);
	free(json);
}

Test(render, a_minimal_error_renders_with_nulls)
{
	struct jst_error e = {.message_id = "X"};
	char buf[4096];

	cr_assert_eq(jst_error_to_cimxml(&e, buf, sizeof(buf), NULL), 0);
	cr_assert_not_null(strstr(buf, "<PROPERTY NAME=\"Message\" TYPE=\"string\"></PROPERTY>"),
			   "NULL: no VALUE (%s)", buf);
	cr_assert_not_null(strstr(buf, "<PROPERTY NAME=\"CIMStatusCode\" TYPE=\"uint32\">"
				       "</PROPERTY>"), "%s", buf);
	cr_assert_eq(jst_error_to_json(&e, buf, sizeof(buf), NULL), 0);
	cr_assert_not_null(strstr(buf, "\"Message\":null"), "%s", buf);
	cr_assert_eq(jst_error_to_cimxml(NULL, buf, sizeof(buf), NULL), JST_EINVAL);
}
