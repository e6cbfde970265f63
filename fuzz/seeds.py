#!/usr/bin/env python3
"""Writes the seed corpus of both fuzz targets (corpus/ is not in git).

Each seed is a selector byte (see src/lib.rs) followed by a hand-encoded
payload shaped like what Terraform sends: unknowns, refined unknowns, nulls,
dynamic values, big numbers.
"""
import struct, json, os
os.chdir(os.path.dirname(os.path.abspath(__file__)))
for d in ('corpus/decode_msgpack', 'corpus/decode_json'):
    os.makedirs(d, exist_ok=True)
UNK = ('unk',)
def enc(v):
    if v is None: return b'\xc0'
    if v is UNK: return b'\xd4\x00\x00'
    if isinstance(v, tuple) and v[0]=='refined': return b'\xc7\x05\x0c\x82\x01\xc3\x02\x01'
    if isinstance(v, tuple) and v[0]=='dyn':
        t=json.dumps(v[1],separators=(',',':')).encode()
        return b'\x92' + bytes([0xc4,len(t)]) + t + enc(v[2])
    if v is True: return b'\xc3'
    if v is False: return b'\xc2'
    if isinstance(v,int):
        if 0<=v<128: return bytes([v])
        return b'\xd3'+struct.pack('>q',v)
    if isinstance(v,float): return b'\xcb'+struct.pack('>d',v)
    if isinstance(v,str):
        b=v.encode(); assert len(b)<256
        return (bytes([0xa0+len(b)]) if len(b)<32 else bytes([0xd9,len(b)]))+b
    if isinstance(v,list):
        assert len(v)<16; return bytes([0x90+len(v)])+b''.join(enc(x) for x in v)
    if isinstance(v,dict):
        assert len(v)<16; return bytes([0x80+len(v)])+b''.join(enc(k)+enc(x) for k,x in sorted(v.items()))
    raise Exception(v)
local={"endpoint":"http://127.0.0.1:7480","state_dir":".bluegreen","autostart":True,"command":["./app","--port","{port}"],"env":{"A":"1"},"drain_timeout":30}
azure={"subscription_id":UNK,"tenant_id":None,"client_secret":"s","environment":"public","use_oidc":False}
cfg={"id":UNK,"version":"1.3.0","local":[local],"azure":[azure],"smoke_test":[{"name":"a","path":"/","expect_status":200,"body_contains":None}],
     "tags":{"team":"x"},"weights":["blue",0.5],"tenants":["t1",("refined",)],"colors":{"blue":{"version":"1.2.0","healthy":True}},
     "extra":("dyn",["object",{"n":"number","l":["list","string"]}],{"n":"123456789012345678901234567890","l":["a"]})}
seeds={
 'cfg': bytes([0])+enc(cfg),
 'cfg_nulls': bytes([0])+enc({k:None for k in cfg}),
 'dyn': bytes([1])+enc(("dyn",["map","bool"],{"a":True})),
 'dyn_tuple': bytes([1])+enc(("dyn",["tuple",["string","dynamic"]],["x",("dyn","number",1.25)])),
 'listdyn': bytes([2])+enc([None,UNK,("dyn","string","s")]),
 'mapobj': bytes([3])+enc({"k":{"a":-5,"b":["x","y"]}}),
 'str': bytes([4])+enc("hello"),
 'num': bytes([5])+enc("0.1"),
 'tuple': bytes([6])+enc([True,1e300,"s",None]),
 'deep': bytes([7])+enc({"deep":[[[[[[[[("dyn","dynamic",None)]]]]]]]],"flag":True}),
}
for k,v in seeds.items():
    open(f'corpus/decode_msgpack/seed_{k}','wb').write(v)
jseeds={
 'cfg': bytes([0])+json.dumps({"id":"i","version":"1.3.0","local":[{"endpoint":"e","state_dir":None,"autostart":True,"command":["a"],"env":{"A":"1"},"drain_timeout":1.5}],"azure":[],"smoke_test":None,"tags":{},"weights":["w",12345678901234567890123],"tenants":["t"],"colors":None,"extra":{"value":{"a":[1,2]},"type":["object",{"a":["list","number"]}]},"removed":1}).encode(),
 'dyn': bytes([1])+b'{"value":"x","type":"string"}',
 'listdyn': bytes([2])+b'[null,{"value":[true],"type":["set","bool"]}]',
 'mapobj': bytes([3])+b'{"k":{"a":"12","b":["\\u00e9\\ud83d\\ude00"]}}',
 'str': bytes([4])+b'"a\\nb"',
 'num': bytes([5])+b'-1.5e-7',
 'tuple': bytes([6])+b'["true",1E400,3,{"value":null,"type":"dynamic"}]',
 'deep': bytes([7])+b'{"deep":[[[[[[[[{"value":1,"type":"number"}]]]]]]]],"flag":false}',
}
for k,v in jseeds.items():
    open(f'corpus/decode_json/seed_{k}','wb').write(v)
