#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# make-seeds.py - writes the fuzzers' seed corpora (tests/fuzz/corpus/): one valid
# message of every control-protocol type, and a few patches of a segment's header.
# The files are committed; rerun this only when the protocol changes.
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
MAGIC, VERSION = 0x5054534A, 1


def s(v):
    if v is None:
        return struct.pack('<I', 0xFFFFFFFF)
    b = v.encode()
    return struct.pack('<I', len(b)) + b + b'\0'


def msg(typ, body, mid=7):
    return struct.pack('<IHHII', MAGIC, VERSION, typ, mid, 16 + len(body)) + body


def error_body(fail=0):
    return (struct.pack('<IIB', 0, 1, fail) + struct.pack('<H', 4) + s(None) + s('jobstat') +
            s('MSG1') + s('message') + struct.pack('<H', 1) + s('arg') + struct.pack('<HH', 5, 47) +
            s('cause') + struct.pack('<H', 1) + s('retry') + s('src') + struct.pack('<H', 0) +
            s(None) + struct.pack('<I', 1) + s('FAILED') + struct.pack('<IH', 0x80070070, 4) +
            s('/file'))


def update(n):
    body = struct.pack('<I', n)
    for i in range(n):
        body += struct.pack('<IIIHHHHH', i % 4, 1, 0x7F, 4, 50, 1, 0, 2) + struct.pack('<HH', 2, 3)
        body += s('desc') + s(None) + s('job status') + s('error description')
    return body


proto = {
    'hello': msg(1, struct.pack('<IQ', 1, 0)),
    'create': msg(2, s('fuzz:new') + s('name') + s('owner') + s(None) + s('status') +
                  struct.pack('<HHIIQ', 1, 4, 10, 0x17, 1000000)),
    'create-transfer': msg(2, s(None) + s(None) + s(None) + s(None) + s(None) +
                           struct.pack('<HHIIQ', 0, 0, 0, 0x10, 0)),
    'update': msg(3, update(3)),
    'error': msg(4, error_body(0)),
    'error-fail': msg(4, error_body(1)),
    'remove': msg(5, struct.pack('<III', 1, 1, 1)),
    'request': msg(6, s('fuzz:2') + struct.pack('<HQ', 4, 0)),
    'event-reply': msg(8, struct.pack('<II', 1, 0)),
    'get': msg(9, struct.pack('<I', 2) + struct.pack('<IIII', 0, 1, 3, 1)),
    'get-by-id': msg(10, s('fuzz:1')),
    'get-error': msg(11, struct.pack('<III', 0, 1, 0)),
    'props': msg(14, struct.pack('<IIIIBHQ', 0, 1, 0xFFF, 3, 1, 1, 5) + s('other') + s('sum') +
                 s('element') + s('caption') + s('description') + struct.pack('<QQIH', 1, 2, 3, 2)),
    'props-bad': msg(14, struct.pack('<IIIIBHQ', 0, 1, 0x8, 0, 2, 9, 0) + s(None) + s(None) +
                     s(None) + s(None) + s(None) + struct.pack('<QQIH', 0, 0, 0, 7)),
}
os.makedirs(os.path.join(here, 'corpus', 'proto'), exist_ok=True)
for name, m in proto.items():
    for first in (1, 3):  # past HELLO, as root and as another uid
        with open(os.path.join(here, 'corpus', 'proto', '%s-%d' % (name, first)), 'wb') as f:
            f.write(bytes([first]) + m)
with open(os.path.join(here, 'corpus', 'proto', 'hello-0'), 'wb') as f:
    f.write(bytes([0]) + proto['hello'])

# Segment patches: (u32 offset, u8 length, bytes).
attach = {
    'nothing': b'',
    'magic': struct.pack('<IB', 0, 4) + b'XXXX',
    'version': struct.pack('<IB', 8, 2) + struct.pack('<H', 2),
    'capacity': struct.pack('<IB', 64, 4) + struct.pack('<I', 0xFFFFFFF0),
    'header-words': struct.pack('<IB', 96, 16) + bytes(range(16)),
    'deep': struct.pack('<IB', 8192, 8) + b'\xff' * 8,
}
os.makedirs(os.path.join(here, 'corpus', 'attach'), exist_ok=True)
for name, p in attach.items():
    with open(os.path.join(here, 'corpus', 'attach', name), 'wb') as f:
        f.write(p)

# Format 1.5's status ring fields (header bytes 2880-2895: ring_offset, ring_size), for
# attach and adoption alike: each a patch of a valid segment's header.
RING = 2880
ring = {
    'ring-not-pow2': struct.pack('<IB', RING + 8, 4) + struct.pack('<I', 3),
    'ring-longer-than-log': struct.pack('<IB', RING + 8, 4) + struct.pack('<I', 1 << 30),
    'ring-past-end': struct.pack('<IB', RING, 8) + struct.pack('<Q', 1 << 40),
    'ring-over-header': struct.pack('<IB', RING, 8) + struct.pack('<Q', 0),
    'ring-misaligned': struct.pack('<IB', RING, 8) + struct.pack('<Q', 4096 + 64),
    'ring-none': struct.pack('<IB', RING, 16) + bytes(16),
    'ring-minor-4': struct.pack('<IB', 10, 2) + struct.pack('<H', 4) +
                    struct.pack('<IB', RING + 8, 4) + struct.pack('<I', 3),
}
for target in ('attach', 'adopt'):
    os.makedirs(os.path.join(here, 'corpus', target), exist_ok=True)
    for name, p in ring.items():
        with open(os.path.join(here, 'corpus', target, name), 'wb') as f:
            f.write(p)
