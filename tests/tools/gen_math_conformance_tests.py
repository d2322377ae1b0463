# Generates tests/unit/test_kernels_math_conf_*.cc from ONNX node test data: gen HEADER.cc test_name[:tol] ...
import onnx, sys, math
from onnx import numpy_helper, helper
import numpy as np
base='/usr/share/libonnx-testdata/data/node/'
DT={np.float32:'F32',np.float64:'F64',np.float16:'F16',np.int8:'I8',np.uint8:'U8',np.int16:'I16',np.uint16:'U16',np.int32:'I32',np.uint32:'U32',np.int64:'I64',np.uint64:'U64',np.bool_:'Bool'}
def load(path):
    t=onnx.TensorProto(); t.ParseFromString(open(path,'rb').read())
    a=numpy_helper.to_array(t)
    if t.data_type==16 or (t.data_type==4 and BF16_FILES and path in BF16_FILES):  # bf16 arrives as raw bits
        t.data_type=16
        a=(a.astype(np.uint32)<<16).view(np.float32)
    return t, a
def rne_bf16(x):
    # ONNX 1.12's Cast-to-bfloat16 test outputs truncate; the expected value is the float32 input
    # rounded to nearest even, as ONNX specifies and torch's .to(torch.bfloat16) computes.
    import struct
    x=float(x)
    if math.isnan(x): return x
    b=struct.unpack('<I',struct.pack('<f',x))[0]
    b=((b+0x7FFF+((b>>16)&1))>>16)<<16
    return struct.unpack('<f',struct.pack('<I',b&0xFFFFFFFF))[0]
def num(v):
    if isinstance(v,(bool,np.bool_)): return '1' if v else '0'
    v=float(v)
    if math.isnan(v): return 'NAN'
    if math.isinf(v): return 'INFINITY' if v>0 else '-INFINITY'
    return repr(v)
def tensor_expr(t,a):
    shape='{'+','.join(str(d) for d in a.shape)+'}'
    if a.dtype.kind in 'OSU':
        vals=','.join('"%s"'%(x.decode() if isinstance(x,bytes) else x) for x in a.ravel())
        return f'strT({shape}, {{{vals}}})'
    if t.data_type==16: dt='BF16'
    else: dt=DT[a.dtype.type]
    vals=','.join(num(x) for x in a.ravel())
    return f'mk(DType::{dt}, {shape}, {{{vals}}})'
def attr_expr(a):
    v=helper.get_attribute_value(a)
    T=onnx.AttributeProto
    if a.type==T.INT: return f'Attribute::ofInt({v})'
    if a.type==T.FLOAT: return f'Attribute::ofFloat({num(v)}f)'
    if a.type==T.STRING: return f'Attribute::ofString("{v.decode()}")'
    if a.type==T.INTS: return 'Attribute::ofInts({'+','.join(str(x) for x in v)+'})'
    if a.type==T.FLOATS: return 'Attribute::ofFloats({'+','.join(num(x)+'f' for x in v)+'})'
    if a.type==T.STRINGS: return 'Attribute::ofStrings({'+','.join('"%s"'%x.decode() for x in v)+'})'
    raise Exception('attr')
out=[]
BF16_FILES=set()
for name in sys.argv[2:]:
    name,_,tol=name.partition(':')
    tol=tol or '1e-4'
    d=base+name
    m=onnx.load(d+'/model.onnx')
    node=m.graph.node[0]
    if len(m.graph.node)!=1: continue
    if any(not i.type.HasField('tensor_type') for i in list(m.graph.input)+list(m.graph.output)): continue
    import glob
    big=False
    for f in glob.glob(d+'/test_data_set_0/*.pb'):
        _,a=load(f)
        if a.size>int(__import__("os").environ.get("MAXN","150")): big=True
    if big: continue
    ins=[]
    k=0
    for i,vi in enumerate(m.graph.input):
        if vi.type.tensor_type.elem_type==16: BF16_FILES.add(f'{d}/test_data_set_0/input_{i}.pb')
    for i,vi in enumerate(m.graph.output):
        if vi.type.tensor_type.elem_type==16: BF16_FILES.add(f'{d}/test_data_set_0/output_{i}.pb')
    for inp in node.input:
        if inp=='': ins.append('Tensor()'); continue
        t,a=load(f'{d}/test_data_set_0/input_{k}.pb'); k+=1
        ins.append(tensor_expr(t,a))
    attrs=','.join('{"%s", %s}'%(a.name,attr_expr(a)) for a in node.attribute)
    nout=len(node.output)
    fn='T_'+name[5:]
    body=[f'TEST(MathConformance, {name[5:]}) {{',
          f'  auto r = runOp(OpKind::{node.op_type}, {{{", ".join(ins)}}}, {{{attrs}}}, {nout});',
          '  ASSERT_TRUE(r.ok()) << r.status().message();']
    for i in range(nout):
        t,a=load(f'{d}/test_data_set_0/output_{i}.pb')
        shape='{'+','.join(str(x) for x in a.shape)+'}'
        if a.dtype.kind in 'OSU':
            vals=','.join('"%s"'%(x.decode() if isinstance(x,bytes) else x) for x in a.ravel())
            body.append(f'  expectStrings((*r)[{i}], {shape}, {{{vals}}});')
        else:
            dt='BF16' if t.data_type==16 else DT[a.dtype.type]
            vals=','.join(num(x) for x in a.ravel())
            if dt=='BF16' and node.op_type in ('Cast','CastLike'):
                _,src=load(f'{d}/test_data_set_0/input_0.pb')
                vals=','.join(num(rne_bf16(x)) for x in src.ravel())
            body.append(f'  EXPECT_EQ((*r)[{i}].dtype(), DType::{dt});')
            body.append(f'  expectClose((*r)[{i}], {shape}, {{{vals}}}, {tol});')
    body.append('}')
    out.append('\n'.join(body))
hdr=open(sys.argv[1]).read()
print(hdr+'\n\n'.join(out)+'\n\n}  // namespace\n}  // namespace dlc::testing')
