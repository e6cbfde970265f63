#!/usr/bin/env python3
"""Name the functions of a stripped Go binary (Terraform's release builds) in a perf profile.

Terraform's release binaries carry no symbol table, so `perf report` shows bare addresses
for them. Go keeps every function's name and address in the binary's `.gopclntab`
section (Go 1.20 and later layout), which this script reads. It prints, for the samples of
one command name, the functions with the most samples on the stack (inclusive) and at the
top of the stack (self); or, with --callees, what a function spends its samples in.

    perf record -F 4999 -g -o plan.data -- terraform plan      # Go keeps frame pointers
    bench/profile/terraform-perf.py plan.data
    bench/profile/terraform-perf.py plan.data --callees 'GRPCProvider).PlanResourceChange' --depth 2
    bench/profile/terraform-perf.py before.data --compare after.data

Addresses inside the binary are resolved against --binary (default: `terraform` on PATH);
other frames keep the names perf gives them.
"""
import argparse
import bisect
import collections
import re
import shutil
import struct
import subprocess
import sys

TEXT_BASE = 0x400000  # Go's linker places a non-PIE amd64 executable's text here


def elf_sections(data):
    shoff, = struct.unpack_from('<Q', data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from('<HHH', data, 0x3A)
    headers = [struct.unpack_from('<IIQQQQ', data, shoff + i * shentsize) for i in range(shnum)]
    names_at = headers[shstrndx][4]
    sections = {}
    for name, _type, _flags, addr, offset, size in headers:
        end = data.index(b'\0', names_at + name)
        sections[data[names_at + name:end].decode()] = (addr, offset, size)
    return sections


def go_functions(path):
    """Sorted entry addresses and names of every function in a Go 1.20+ binary."""
    data = open(path, 'rb').read()
    sections = elf_sections(data)
    if '.gopclntab' not in sections:
        sys.exit(f'{path}: no .gopclntab section (not a Go binary?)')
    _, offset, size = sections['.gopclntab']
    tab = data[offset:offset + size]
    magic, = struct.unpack_from('<I', tab, 0)
    if magic != 0xFFFFFFF1:
        sys.exit(f'{path}: pclntab magic {magic:#x}; only the Go 1.20+ layout is read')
    nfunc, _nfiles, text, names_off, _cu, _files, _pc, functab_off = struct.unpack_from('<8Q', tab, 8)
    entries = []
    for i in range(nfunc):
        entry, func = struct.unpack_from('<II', tab, functab_off + 8 * i)
        _entry, name = struct.unpack_from('<Ii', tab, functab_off + func)
        start = names_off + name
        entries.append((text + entry, tab[start:tab.index(b'\0', start)].decode(errors='replace')))
    entries.sort()
    return [a for a, _ in entries], [n for _, n in entries]


def samples(perf_data, binary, comm):
    addrs, names = go_functions(binary)
    cache = {}

    def name_of(offset):
        # perf prints addresses inside an executable as offsets into its mapping.
        if offset not in cache:
            i = bisect.bisect_right(addrs, offset + TEXT_BASE) - 1
            cache[offset] = names[i].rsplit('/', 1)[-1] if i >= 0 else '?'
        return cache[offset]

    out = subprocess.run(['perf', 'script', '-i', perf_data, '-F', 'comm,ip,sym,dso'],
                         capture_output=True, text=True, check=True).stdout
    frame = re.compile(r'\s*([0-9a-f]+)\s+(.*)\s+\((.*)\)$')
    binary_name = binary.rsplit('/', 1)[-1]
    for block in out.split('\n\n'):
        lines = block.strip('\n').split('\n')
        if not lines or not lines[0].strip() or lines[0].split()[0] != comm:
            continue
        stack = []
        for line in lines[1:]:
            m = frame.match(line)
            if not m:
                continue
            address, symbol, dso = int(m.group(1), 16), m.group(2), m.group(3)
            if dso.rsplit('/', 1)[-1] == binary_name:
                stack.append(name_of(address))
            else:
                stack.append(dso.rsplit('/', 1)[-1] if symbol.startswith('[unknown]') else symbol)
        if stack:
            yield stack


def profile(perf_data, binary, comm):
    inclusive, own, total = collections.Counter(), collections.Counter(), 0
    for stack in samples(perf_data, binary, comm):
        total += 1
        own[stack[0]] += 1
        inclusive.update(set(stack))
    return total, inclusive, own


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('perf_data')
    p.add_argument('--binary', default=shutil.which('terraform') or 'terraform')
    p.add_argument('--comm', default='terraform', help='command name whose samples count')
    p.add_argument('--top', type=int, default=40)
    p.add_argument('--callees', help='show what stacks through this function spend samples in')
    p.add_argument('--depth', type=int, default=2, help='frames below --callees to show')
    p.add_argument('--compare', help='a second perf.data: show sample differences per function')
    args = p.parse_args()

    if args.callees:
        below = collections.Counter()
        hits = 0
        for stack in samples(args.perf_data, args.binary, args.comm):
            at = [i for i, f in enumerate(stack) if f.endswith(args.callees)]
            if at:
                hits += 1
                i = max(at)
                below[' > '.join(reversed(stack[max(0, i - args.depth):i])) or '(self)'] += 1
        print(f'{hits} samples through {args.callees}')
        for path, n in below.most_common(args.top):
            print(f'{n:6d} {path}')
        return

    total, inclusive, own = profile(args.perf_data, args.binary, args.comm)
    if args.compare:
        total2, inclusive2, _ = profile(args.compare, args.binary, args.comm)
        print(f'samples: {total} → {total2} ({total2 - total:+d}); inclusive per function, by difference')
        keys = sorted(set(inclusive) | set(inclusive2), key=lambda k: inclusive[k] - inclusive2[k])
        for k in keys[:args.top]:
            print(f'{inclusive[k]:6d} {inclusive2[k]:6d} {inclusive2[k] - inclusive[k]:+6d} {k}')
        return
    print(f'{total} samples of {args.comm}')
    print('--- inclusive (on the stack)')
    for k, n in inclusive.most_common(args.top):
        print(f'{n:6d} {100 * n / total:5.1f}% {k}')
    print('--- self (top of the stack)')
    for k, n in own.most_common(args.top):
        print(f'{n:6d} {100 * n / total:5.1f}% {k}')


if __name__ == '__main__':
    main()
