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
	/* Measure, then fill: measuring succeeds (0.1.0 returned JST_ETOOLONG here). */
	cr_assert_eq(jst_error_to_cimxml(&sample, NULL, 0, &need), 0);
	xml = malloc(need + 1);
	cr_assert_eq(jst_error_to_cimxml(&sample, xml, need, NULL), JST_ETOOLONG,
		     "one byte short: no room for the NUL");
	cr_assert_eq(jst_error_to_cimxml(&sample, xml, need + 1, NULL), 0);
	cr_assert_eq(strlen(xml), need);
	cr_assert_eq(jst_error_to_json(&sample, NULL, 0, &need_json), 0);
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

/* ---- issue 14: a whole job, GetErrors as one document, validated against DSP0203 ---- */

/* The DTD of DSP0201 as DMTF publishes it (DSP0203 2.4.0): see tests/dtd/README.md. */
#define DTD "tests/dtd/DSP0203_2.4.0.dtd"

static struct jst_job job;

static void fill_job(void)
{
	memset(&job, 0, sizeof(job));
	job.instance_id = "acme:copy-<1>";
	job.name = "copy & verify";
	job.job_status = NASTY;
	job.error_description = "disk \"full\"";
	job.owner = "backup";
	job.error_summary_description = "summary";
	job.n_status_descriptions = 2;
	job.status_descriptions[0] = "done";
	job.status_descriptions[1] = NULL;
	job.status.job_state = JST_JOB_EXCEPTION;
	job.status.n_operational_status = 2;
	job.status.operational_status[0] = JST_OPS_COMPLETED;
	job.status.operational_status[1] = JST_OPS_ERROR;
	job.status.percent_complete = 42;
	job.status.error_code = 28;
	job.status.priority = 7;
	job.status.job_type = 3;
	job.status.flags = JST_STATUS_CANCELLABLE;
	job.status.time_submitted = 1234567890123456789ull;
	job.status.start_time = 1234567891000000000ull;
	job.status.time_of_last_state_change = 1234567951500000000ull;
	job.status.elapsed_ns = 60500000000ull;
	job.status.time_before_removal_ns = JST_DEFAULT_TIME_BEFORE_REMOVAL_NS;
}

/* Writes @text to a temporary file and runs "@cmd FILE"; its exit status. */
static int run_on(const char *text, const char *cmd)
{
	char path[] = "/tmp/jst-render-XXXXXX", line[512];
	int fd = mkstemp(path), status;
	FILE *f;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(line, sizeof(line), "%s %s", cmd, path);
	status = system(line);
	unlink(path);
	cr_assert(WIFEXITED(status), "%s: %#x", line, status);
	return WEXITSTATUS(status);
}

static char *job_xml(unsigned flags)
{
	size_t need = 0;
	char *xml;

	cr_assert_eq(jst_job_to_cimxml(&job, flags, NULL, 0, &need), 0);
	xml = malloc(need + 1);
	cr_assert_eq(jst_job_to_cimxml(&job, flags, xml, need + 1, NULL), 0);
	cr_assert_eq(strlen(xml), need);
	return xml;
}

static const char *job_checker =
	"import sys, xml.etree.ElementTree as ET\n"
	"msvm = sys.argv[1] == 'msvm'\n"
	"doc = ET.parse(sys.argv[2]).getroot()\n"
	"assert doc.tag == 'CIM' and doc.get('DTDVERSION') == '2.4'\n"
	"inst = doc.findall('./DECLARATION/DECLGROUP/VALUE.OBJECT/INSTANCE')\n"
	"assert len(inst) == 1, len(inst)\n"
	"root = inst[0]\n"
	"assert root.get('CLASSNAME') == ('Msvm_ConcreteJob' if msvm else 'CIM_ConcreteJob')\n"
	"def val(name, typ):\n"
	"    p = root.findall(\"./*[@NAME='%s']\" % name)\n"
	"    assert len(p) == 1, (name, len(p))\n"
	"    assert p[0].get('TYPE') == typ, (name, p[0].get('TYPE'))\n"
	"    if p[0].tag == 'PROPERTY.ARRAY':\n"
	"        a = p[0].find('VALUE.ARRAY')\n"
	"        return None if a is None else [v.text if v.tag == 'VALUE' else None for v in a]\n"
	"    v = p[0].findall('VALUE')\n"
	"    return None if not v else (v[0].text or '')\n"
	"assert val('InstanceID', 'string') == 'acme:copy-<1>'\n"
	"assert val('Name', 'string') == 'copy & verify'\n"
	"assert val('JobState', 'uint16') == '10'\n"
	"assert val('OperationalStatus', 'uint16') == ['17', '6']\n"
	"assert val('StatusDescriptions', 'string') == ['done', None]\n"
	"assert val('PercentComplete', 'uint16') == '42'\n"
	"assert val('ErrorCode', 'uint16') == '28'\n"
	"assert val('ErrorDescription', 'string') == 'disk \"full\"'\n"
	"assert val('JobStatus', 'string').startswith('a<b>&c')\n"
	"assert val('Owner', 'string') == 'backup' and val('Notify', 'string') is None\n"
	"assert val('Priority', 'uint32') == '7' and val('RecoveryAction', 'uint16') == '0'\n"
	"assert val('OtherRecoveryAction', 'string') is None\n"
	"assert val('DeleteOnCompletion', 'boolean') == 'false'\n"
	"assert val('TimeSubmitted', 'datetime') == '20090213233130.123456+000'\n"
	"assert val('StartTime', 'datetime') == '20090213233131.000000+000'\n"
	"assert val('TimeOfLastStateChange', 'datetime') == '20090213233231.500000+000'\n"
	"assert val('ElapsedTime', 'datetime') == '00000000000100.500000:000'\n"
	"assert val('TimeBeforeRemoval', 'datetime') == '00000000000500.000000:000'\n"
	"extras = [p.get('NAME') for p in root if p.get('NAME') in\n"
	"          ('ErrorSummaryDescription', 'Cancellable', 'JobType')]\n"
	"if msvm:\n"
	"    assert val('ErrorSummaryDescription', 'string') == 'summary'\n"
	"    assert val('Cancellable', 'boolean') == 'true' and val('JobType', 'uint16') == '3'\n"
	"else:\n"
	"    assert extras == [], extras\n"
	"print('job parsed: ok')\n";

Test(render, a_whole_job_is_a_cim_concretejob_instance_valid_against_dsp0203)
{
	char cmd[512], pyp[] = "/tmp/jst-jobcheck-XXXXXX";
	int fd;

	fill_job();
	fd = mkstemp(pyp);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, job_checker, strlen(job_checker)), (ssize_t)strlen(job_checker));
	close(fd);
	for (unsigned msvm = 0; msvm <= 1; msvm++) {
		char *doc = job_xml(JST_CIMXML_DOCUMENT | (msvm ? JST_CIMXML_MSVM : 0));
		char *bare = job_xml(msvm ? JST_CIMXML_MSVM : 0);

		cr_assert_eq(run_on(doc, "xmllint --noout --dtdvalid " DTD), 0,
			     "xmllint: not valid against DSP0203:\n%s", doc);
		snprintf(cmd, sizeof(cmd), "python3 %s %s", pyp, msvm ? "msvm" : "cim");
		cr_assert_eq(run_on(doc, cmd), 0, "python3 rejected:\n%s", doc);
		cr_assert_eq(run_on(bare, "xmllint --noout --dtdvalid " DTD), 0,
			     "the bare INSTANCE is valid too:\n%s", bare);
		cr_assert_not_null(strstr(doc, bare), "the document holds the same INSTANCE");
		free(doc);
		free(bare);
	}
	unlink(pyp);
	cr_assert_eq(jst_job_to_cimxml(&job, 0x4, NULL, 0, NULL), JST_EINVAL, "unknown flag");
	cr_assert_eq(jst_job_to_cimxml(NULL, 0, NULL, 0, NULL), JST_EINVAL);
}

/* The control: the validator rejects what breaks the DTD, so the test above can fail. */
Test(render, xmllint_rejects_an_instance_the_dtd_does_not_allow)
{
	cr_assert_neq(run_on("<INSTANCE CLASSNAME=\"CIM_ConcreteJob\"><PROPERTY NAME=\"JobState\" "
			     "TYPE=\"uint17\"><VALUE>4</VALUE></PROPERTY></INSTANCE>",
			     "xmllint --noout --dtdvalid " DTD " 2>/dev/null"),
		      0);
	cr_assert_neq(run_on("<INSTANCE CLASSNAME=\"CIM_Error\"><VALUE>4</VALUE></INSTANCE>",
			     "xmllint --noout --dtdvalid " DTD " 2>/dev/null"),
		      0);
}

Test(render, a_job_times_are_null_until_set_and_json_parses)
{
	char *xml, buf[16384];
	size_t need;

	fill_job();
	job.status.start_time = 0;
	job.status.time_submitted = 0;
	xml = job_xml(0);
	cr_assert_not_null(strstr(xml, "<PROPERTY NAME=\"StartTime\" TYPE=\"datetime\"></PROPERTY>"),
			   "%s", xml);
	cr_assert_not_null(strstr(xml, "<PROPERTY NAME=\"ElapsedTime\" TYPE=\"datetime\">"
				       "</PROPERTY>"), "never started: no ElapsedTime");
	free(xml);
	fill_job();
	cr_assert_eq(jst_job_to_json(&job, NULL, 0, &need), 0);
	cr_assert_lt(need, sizeof(buf));
	cr_assert_eq(jst_job_to_json(&job, buf, sizeof(buf), NULL), 0);
	cr_assert_eq(run_on(buf, "python3 -c \"import json,sys; j=json.load(open(sys.argv[1])); "
				 "assert j['InstanceID']=='acme:copy-<1>' and j['OperationalStatus']"
				 "==[17,6] and j['StartTime']=='20090213233131.000000+000' and "
				 "j['Notify'] is None and j['Cancellable'] is True, j\""),
		     0, "%s", buf);
}

Test(render, get_errors_is_one_valid_document)
{
	struct jst_error errs[3] = {sample, sample, {.message_id = "LAST"}};
	size_t need = 0;
	char *doc;

	errs[1].message_id = "SECOND";
	cr_assert_eq(jst_errors_to_cimxml(errs, 3, NULL, 0, &need), 0);
	doc = malloc(need + 1);
	cr_assert_eq(jst_errors_to_cimxml(errs, 3, doc, need, NULL), JST_ETOOLONG);
	cr_assert_eq(jst_errors_to_cimxml(errs, 3, doc, need + 1, NULL), 0);
	cr_assert_eq(run_on(doc, "xmllint --noout --dtdvalid " DTD), 0, "%s", doc);
	cr_assert_eq(run_on(doc, "python3 -c \"import sys, xml.etree.ElementTree as ET; "
				 "r=ET.parse(sys.argv[1]).getroot(); i=r.findall('.//INSTANCE'); "
				 "ids=[x.find(\\\"./PROPERTY[@NAME='MessageID']/VALUE\\\").text "
				 "for x in i]; assert ids==['DISK0042','SECOND','LAST'], ids\""),
		     0, "%s", doc);
	free(doc);
	doc = malloc(4096);
	cr_assert_eq(jst_errors_to_cimxml(NULL, 0, doc, 4096, NULL), 0);
	cr_assert_eq(run_on(doc, "xmllint --noout --dtdvalid " DTD), 0, "none: %s", doc);
	free(doc);
}
