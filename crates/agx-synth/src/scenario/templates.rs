//! Stack templates (data): the frames each known crash pattern of docs/BUCKETS.md leaves on
//! the crashed thread, the PyTorch operations under them, the faults, and Metal's assertion
//! texts. `{F}` in a symbol is the AGX family (`G16X`), `{G}` its generation (`G16`).

use super::*;

// ---------------------------------------------------------------------------------------------
// Frame templates (data)
// ---------------------------------------------------------------------------------------------

/// One template frame: image, symbol (with `{F}` for the AGX family such as `G16X` and `{G}`
/// for its generation namespace such as `G16`), offset into the symbol.
#[derive(Clone, Copy)]
pub struct F(pub Img, pub &'static str, pub u64);

pub(crate) const DISPATCH_SYNC: &[F] = &[
    F(Img::LibDispatch, "_dispatch_client_callout", 16),
    F(
        Img::LibDispatch,
        "_dispatch_lane_barrier_sync_invoke_and_complete",
        56,
    ),
    F(
        Img::Torch,
        "at::native::mps::dispatch_sync_with_rethrow(dispatch_queue_s*, void () block_pointer)",
        128,
    ),
];

pub(crate) const ABORT: &[F] = &[
    F(Img::Kernel, "__pthread_kill", 8),
    F(Img::Pthread, "pthread_kill", 296),
    F(Img::LibC, "abort", 124),
    F(Img::LibC, "__assert_rtn", 284),
    F(Img::Metal, "MTLReportFailure.cold.1", 40),
    F(Img::Metal, "MTLReportFailure", 468),
];

pub(crate) const PREPARE_FOR_ENQUEUE: &str = "AGX::ComputeContext<AGX::{G}::Encoders, AGX::{G}::Classes, AGX::{G}::ObjClasses, AGX::{G}::EncoderComputeServiceClasses>::prepareForEnqueue(bool)";
pub(crate) const DISPATCH_THREADS: &str =
    "-[AGX{F}FamilyComputeContext dispatchThreads:threadsPerThreadgroup:]";
pub(crate) const SET_PIPELINE: &str = "-[AGX{F}FamilyComputeContext setComputePipelineState:]";
pub(crate) const SET_BUFFER: &str = "-[AGX{F}FamilyComputeContext setBuffer:offset:atIndex:]";
pub(crate) const BINARY_OP_TENSOR: &str = "at::native::mps::binaryOpTensor(at::Tensor const&, at::Tensor const&, at::Tensor const&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>>, MPSGraphTensor* (at::native::mps::BinaryOpCachedGraph*, MPSGraphTensor*, MPSGraphTensor*) block_pointer)";
pub(crate) const EXEC_BINARY_KERNEL: &str = "at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)";
pub(crate) const BLOCK_EXEC_BINARY_KERNEL: &str = "invocation function for block in at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)";
pub(crate) const LAYER_NORM_MPS: &str = "at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double)";
pub(crate) const BLOCK_LAYER_NORM_MPS: &str = "invocation function for block in at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double)";
pub(crate) const EXECUTE_MPS_GRAPH: &str = "at::mps::MPSStream::executeMPSGraph(MPSGraph*, NSDictionary*, NSDictionary*, at::mps::SyncType)";
pub(crate) const BLOCK_EXECUTE_MPS_GRAPH: &str = "invocation function for block in at::mps::MPSStream::executeMPSGraph(MPSGraph*, NSDictionary*, NSDictionary*, at::mps::SyncType)";
pub(crate) const ADD_FUNCTOR: &str = "c10::impl::wrap_kernel_functor_unboxed_<c10::impl::detail::WrapFunctionIntoFunctor_<c10::CompileTimeFunctionPointer<at::Tensor (at::Tensor const&, at::Tensor const&, c10::Scalar const&), &at::(anonymous namespace)::wrapper_MPS_add_Tensor(at::Tensor const&, at::Tensor const&, c10::Scalar const&)>, at::Tensor, c10::guts::typelist::typelist<at::Tensor const&, at::Tensor const&, c10::Scalar const&>>, at::Tensor (at::Tensor const&, at::Tensor const&, c10::Scalar const&)>::call(c10::OperatorKernel*, c10::DispatchKeySet, at::Tensor const&, at::Tensor const&, c10::Scalar const&)";

/// Where in PyTorch a crash happened: frames between the driver (or the fix) and Python, and
/// the Python C-API frame that called into torch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ctx {
    /// `gatherViewTensor` dispatching its gather kernel (`x + y` on a strided view).
    Gather,
    /// `MPSStream::commandEncoder()` asked for an encoder, then `gatherViewTensor`.
    EncoderGather,
    /// A binary op through MPSGraph (`binaryOpTensor` → `executeMPSGraph`).
    BinaryGraph,
    /// `mul_mps_kernel` through `MetalShaderLibrary::exec_binary_kernel`.
    MulKernel,
    /// `layer_norm_mps` binding a buffer through `mtl_setBuffer`.
    LayerNorm,
    /// `index_select_out_mps` binding a buffer.
    IndexSelect,
    /// `mm` through MPSGraph and MPSNDArray.
    Matmul,
    /// `tensor.item()` forcing a stream synchronise (commit).
    Item,
    /// `torch.mps.Event.record()`.
    EventRecord,
    /// A tensor freed from Python: the allocator adds a completion handler.
    Dealloc,
}

pub(crate) fn ctx_frames(ctx: Ctx) -> (Vec<F>, F) {
    let method = F(Img::PyFw, "method_vectorcall_VARARGS_KEYWORDS", 152);
    let cfunc = F(Img::PyFw, "cfunction_call", 60);
    let mut v = Vec::new();
    let gather = |v: &mut Vec<F>| {
        v.push(F(
            Img::Torch,
            "invocation function for block in at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)",
            236,
        ));
        v.extend_from_slice(DISPATCH_SYNC);
        v.extend_from_slice(&[
            F(Img::Torch, "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)", 1020),
            F(
                Img::Torch,
                "at::native::mps::Placeholder::Placeholder(MPSGraphTensor*, at::Tensor const&, NSArray<NSNumber*>*, bool, MPSDataType, bool)",
                1348,
            ),
            F(Img::Torch, BINARY_OP_TENSOR, 2236),
            F(
                Img::Torch,
                "at::native::structured_add_out_mps::impl(at::Tensor const&, at::Tensor const&, c10::Scalar const&, at::Tensor const&)",
                120,
            ),
            F(
                Img::Torch,
                "at::(anonymous namespace)::wrapper_MPS_add_Tensor(at::Tensor const&, at::Tensor const&, c10::Scalar const&)",
                148,
            ),
            F(Img::Torch, ADD_FUNCTOR, 28),
            F(
                Img::Torch,
                "at::_ops::add_Tensor::call(at::Tensor const&, at::Tensor const&, c10::Scalar const&)",
                296,
            ),
            F(
                Img::TorchPy,
                "torch::autograd::THPVariable_add(_object*, _object*, _object*)",
                324,
            ),
        ]);
    };
    let graph = |v: &mut Vec<F>| {
        v.extend_from_slice(&[
            F(
                Img::MpsGraph,
                "-[MPSGraphExecutable encodeToCommandBuffer:inputsArray:resultsArray:executionDescriptor:]",
                604,
            ),
            F(
                Img::Torch,
                "at::native::mps::runMPSGraph(at::mps::MPSStream*, MPSGraph*, NSDictionary*, NSDictionary*)",
                92,
            ),
            F(Img::Torch, BLOCK_EXECUTE_MPS_GRAPH, 204),
        ]);
        v.extend_from_slice(DISPATCH_SYNC);
        v.extend_from_slice(&[
            F(Img::Torch, EXECUTE_MPS_GRAPH, 232),
            F(
                Img::Torch,
                "at::native::mps::runMPSGraph(at::mps::MPSStream*, MPSGraph*, NSDictionary*, NSDictionary*)",
                160,
            ),
        ]);
    };
    match ctx {
        Ctx::Gather => {
            gather(&mut v);
            (v, method)
        }
        Ctx::EncoderGather => {
            v.push(F(Img::Torch, "at::mps::MPSStream::commandEncoder()", 112));
            gather(&mut v);
            (v, method)
        }
        Ctx::BinaryGraph => {
            v.push(F(
                Img::MpsNd,
                "-[MPSNDArrayBinaryArithmeticKernel encodeToCommandEncoder:commandBuffer:sourceArrays:destinationArray:]",
                1816,
            ));
            v.push(F(
                Img::MpsGraph,
                "GPU::BinaryArithmeticOpHandler::encodeNDArrayOp(GPU::OperationParameters*)",
                412,
            ));
            graph(&mut v);
            v.extend_from_slice(&[
                F(Img::Torch, BINARY_OP_TENSOR, 2612),
                F(
                    Img::Torch,
                    "at::native::structured_sub_out_mps::impl(at::Tensor const&, at::Tensor const&, c10::Scalar const&, at::Tensor const&)",
                    168,
                ),
                F(
                    Img::Torch,
                    "at::(anonymous namespace)::wrapper_MPS_sub_Tensor(at::Tensor const&, at::Tensor const&, c10::Scalar const&)",
                    148,
                ),
                F(
                    Img::Torch,
                    "at::_ops::sub_Tensor::call(at::Tensor const&, at::Tensor const&, c10::Scalar const&)",
                    296,
                ),
                F(
                    Img::TorchPy,
                    "torch::autograd::THPVariable_sub(_object*, _object*, _object*)",
                    324,
                ),
            ]);
            (v, method)
        }
        Ctx::MulKernel => {
            v.push(F(Img::Torch, BLOCK_EXEC_BINARY_KERNEL, 380));
            v.extend_from_slice(DISPATCH_SYNC);
            v.extend_from_slice(&[
                F(Img::Torch, EXEC_BINARY_KERNEL, 1544),
                F(Img::Torch, "at::native::mul_mps_kernel(at::TensorIteratorBase&)", 64),
                F(
                    Img::Torch,
                    "at::native::structured_mul_out::impl(at::Tensor const&, at::Tensor const&, at::Tensor const&)",
                    60,
                ),
                F(
                    Img::Torch,
                    "at::(anonymous namespace)::wrapper_MPS_mul_Tensor(at::Tensor const&, at::Tensor const&)",
                    128,
                ),
                F(
                    Img::Torch,
                    "at::_ops::mul_Tensor::call(at::Tensor const&, at::Tensor const&)",
                    284,
                ),
                F(
                    Img::TorchPy,
                    "torch::autograd::THPVariable_mul(_object*, _object*, _object*)",
                    312,
                ),
            ]);
            (v, method)
        }
        Ctx::LayerNorm => {
            v.push(F(
                Img::Torch,
                "at::native::mps::mtl_setBuffer(id<MTLComputeCommandEncoder>, at::TensorBase const&, unsigned int)",
                52,
            ));
            v.push(F(Img::Torch, BLOCK_LAYER_NORM_MPS, 1104));
            v.extend_from_slice(DISPATCH_SYNC);
            v.extend_from_slice(&[
                F(Img::Torch, LAYER_NORM_MPS, 2480),
                F(
                    Img::Torch,
                    "at::(anonymous namespace)::wrapper_MPS__native_layer_norm(at::Tensor const&, c10::ArrayRef<c10::SymInt>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double)",
                    96,
                ),
                F(
                    Img::Torch,
                    "at::_ops::native_layer_norm::call(at::Tensor const&, c10::ArrayRef<c10::SymInt>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double)",
                    348,
                ),
                F(
                    Img::Torch,
                    "at::native::layer_norm_symint(at::Tensor const&, c10::ArrayRef<c10::SymInt>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double, bool)",
                    172,
                ),
                F(
                    Img::Torch,
                    "at::_ops::layer_norm::call(at::Tensor const&, c10::ArrayRef<c10::SymInt>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double, bool)",
                    388,
                ),
                F(
                    Img::TorchPy,
                    "torch::autograd::THPVariable_layer_norm(_object*, _object*, _object*)",
                    844,
                ),
            ]);
            (v, cfunc)
        }
        Ctx::IndexSelect => {
            v.push(F(
                Img::Torch,
                "at::native::mps::mtl_setBuffer(id<MTLComputeCommandEncoder>, at::TensorBase const&, unsigned int)",
                52,
            ));
            v.push(F(
                Img::Torch,
                "invocation function for block in at::native::index_select_out_mps(at::Tensor const&, long long, at::Tensor const&, at::Tensor&)",
                612,
            ));
            v.extend_from_slice(DISPATCH_SYNC);
            v.extend_from_slice(&[
                F(
                    Img::Torch,
                    "at::native::index_select_out_mps(at::Tensor const&, long long, at::Tensor const&, at::Tensor&)",
                    1760,
                ),
                F(
                    Img::Torch,
                    "at::native::index_select_mps(at::Tensor const&, long long, at::Tensor const&)",
                    212,
                ),
                F(
                    Img::Torch,
                    "at::_ops::index_select::call(at::Tensor const&, long long, at::Tensor const&)",
                    300,
                ),
                F(
                    Img::TorchPy,
                    "torch::autograd::THPVariable_index_select(_object*, _object*, _object*)",
                    604,
                ),
            ]);
            (v, cfunc)
        }
        Ctx::Matmul => {
            v.push(F(
                Img::MpsNd,
                "-[MPSNDArrayMatrixMultiplication encodeToCommandEncoder:commandBuffer:sourceArrays:destinationArray:]",
                2204,
            ));
            graph(&mut v);
            v.extend_from_slice(&[
                F(
                    Img::Torch,
                    "at::native::mm_out_mps_impl(at::Tensor const&, at::Tensor const&, at::Tensor&)",
                    1432,
                ),
                F(
                    Img::Torch,
                    "at::native::mm_mps(at::Tensor const&, at::Tensor const&)",
                    140,
                ),
                F(Img::Torch, "at::_ops::mm::call(at::Tensor const&, at::Tensor const&)", 280),
                F(
                    Img::Torch,
                    "at::native::matmul(at::Tensor const&, at::Tensor const&)",
                    96,
                ),
                F(
                    Img::TorchPy,
                    "torch::autograd::THPVariable_matmul(_object*, _object*, _object*)",
                    516,
                ),
            ]);
            (v, cfunc)
        }
        Ctx::Item => {
            v.extend_from_slice(&[
                F(Img::MpsCore, "-[MPSCommandBuffer commitAndContinue]", 84),
                F(Img::Torch, "at::mps::MPSStream::commitAndContinue()", 48),
                F(
                    Img::Torch,
                    "invocation function for block in at::mps::MPSStream::synchronize(at::mps::SyncType)",
                    116,
                ),
            ]);
            v.extend_from_slice(DISPATCH_SYNC);
            v.extend_from_slice(&[
                F(
                    Img::Torch,
                    "at::mps::MPSStream::synchronize(at::mps::SyncType)",
                    180,
                ),
                F(
                    Img::Torch,
                    "at::native::mps::copy_from_mps_(at::Tensor&, at::Tensor const&, bool)",
                    1220,
                ),
                F(
                    Img::Torch,
                    "at::native::mps::mps_copy_(at::Tensor&, at::Tensor const&, bool)",
                    2048,
                ),
                F(
                    Img::Torch,
                    "at::native::copy_impl(at::Tensor&, at::Tensor const&, bool)",
                    1528,
                ),
                F(
                    Img::Torch,
                    "at::_ops::copy_::call(at::Tensor&, at::Tensor const&, bool)",
                    288,
                ),
                F(
                    Img::Torch,
                    "at::native::_local_scalar_dense_mps(at::Tensor const&)",
                    364,
                ),
                F(
                    Img::Torch,
                    "at::_ops::_local_scalar_dense::call(at::Tensor const&)",
                    268,
                ),
                F(Img::Torch, "at::native::item(at::Tensor const&)", 344),
                F(Img::Torch, "at::_ops::item::call(at::Tensor const&)", 268),
                F(
                    Img::TorchPy,
                    "torch::autograd::THPVariable_item(_object*, _object*)",
                    400,
                ),
            ]);
            (v, F(Img::PyFw, "method_vectorcall_NOARGS", 132))
        }
        Ctx::EventRecord => {
            v.push(F(Img::Torch, "at::mps::MPSEvent::recordLocked(bool)", 136));
            v.push(F(
                Img::Torch,
                "invocation function for block in at::mps::MPSEvent::record(bool, bool)",
                64,
            ));
            v.extend_from_slice(DISPATCH_SYNC);
            v.extend_from_slice(&[
                F(Img::Torch, "at::mps::MPSEvent::record(bool, bool)", 120),
                F(
                    Img::Torch,
                    "at::mps::MPSEventPool::recordEvent(unsigned long long, bool)",
                    96,
                ),
                F(
                    Img::Torch,
                    "at::mps::MPSGuardImpl::record(void**, c10::Stream const&, signed char, c10::EventFlag) const",
                    212,
                ),
                F(Img::TorchPy, "THPEvent_record(_object*, _object*)", 100),
            ]);
            (v, F(Img::PyFw, "method_vectorcall_O", 124))
        }
        Ctx::Dealloc => {
            v.push(F(
                Img::MpsCore,
                "-[MPSCommandBuffer addCompletedHandler:]",
                56,
            ));
            v.push(F(
                Img::Torch,
                "invocation function for block in at::mps::MPSStream::addCompletedHandler(void (id<MTLCommandBuffer>) block_pointer)",
                72,
            ));
            v.extend_from_slice(DISPATCH_SYNC);
            v.extend_from_slice(&[
                F(
                    Img::Torch,
                    "at::mps::MPSStream::addCompletedHandler(void (id<MTLCommandBuffer>) block_pointer)",
                    92,
                ),
                F(
                    Img::Torch,
                    "at::mps::HeapAllocator::MPSHeapAllocatorImpl::free(void*)",
                    404,
                ),
                F(Img::LibC10, "c10::StorageImpl::~StorageImpl()", 76),
                F(Img::LibC10, "c10::TensorImpl::~TensorImpl()", 180),
                F(Img::TorchPy, "THPVariable_subclass_dealloc(_object*)", 828),
            ]);
            (v, F(Img::PyFw, "_Py_Dealloc", 104))
        }
    }
}

/// How a crash faults.
#[derive(Clone, Copy)]
pub(crate) enum Fault {
    /// Read through a null pointer plus an offset (`KERN_INVALID_ADDRESS at 0x98`).
    NullRead(u64),
    /// Write through a null pointer plus an offset.
    NullWrite(u64),
    /// A wild (freed, garbage) pointer.
    Wild(u64),
    /// arm64e pointer-authentication failure: the signed address and the stripped one.
    Pac(u64, u64),
    /// `abort()` after an assertion; the message lands in `asi` under this image.
    Abort(&'static str, &'static str),
}

/// One known pattern (docs/BUCKETS.md): its driver frames, how it faults, and the fix dylib's swizzled
/// function that sits between the driver method and its caller when a fix is loaded.
pub struct Pattern {
    /// The rule id of docs/BUCKETS.md: `agx-null-impl-0x98`.
    pub id: &'static str,
    /// The frames on top of the crashed thread.
    pub top: &'static [F],
    /// Whether it is an assertion (`abort()`), not a bad access.
    pub abort: bool,
    /// The fix dylib frame under the top frames when a fix is loaded.
    pub fix_frame: Option<&'static str>,
}

/// Every known crash pattern, with the stack it leaves.
pub const PATTERNS: &[Pattern] = &[
    Pattern {
        id: "agx-null-impl-0x98",
        top: &[
            F(Img::Agx, PREPARE_FOR_ENQUEUE, 40),
            F(Img::Agx, DISPATCH_THREADS, 268),
        ],
        abort: false,
        fix_frame: Some("agxfix_dispatchThreads"),
    },
    Pattern {
        id: "agx-null-impl-0x5c8",
        top: &[F(Img::Agx, SET_PIPELINE, 56)],
        abort: false,
        fix_frame: Some("agxfix_setComputePipelineState"),
    },
    Pattern {
        id: "agx-null-0x5f4-dispatch",
        top: &[F(Img::Agx, DISPATCH_THREADS, 92)],
        abort: false,
        fix_frame: Some("agxfix_dispatchThreads"),
    },
    Pattern {
        id: "agx-null-0x3b90-setbuffer",
        top: &[F(Img::Agx, SET_BUFFER, 44)],
        abort: false,
        fix_frame: Some("agxfix_setBuffer"),
    },
    Pattern {
        id: "agx-null-0x184-spill",
        top: &[
            F(
                Img::Agx,
                "AGX::SpillInfoGen3<AGX::{G}::Encoders, AGX::{G}::Classes, AGX::{G}::ObjClasses>::allocateUSCSpillBuffer(unsigned int, unsigned int)",
                96,
            ),
            F(Img::Agx, PREPARE_FOR_ENQUEUE, 1208),
            F(Img::Agx, DISPATCH_THREADS, 268),
        ],
        abort: false,
        fix_frame: Some("agxfix_dispatchThreads"),
    },
    Pattern {
        id: "agx-null-0x1e0-bindresource",
        top: &[
            F(
                Img::Agx,
                "AGX::ResourceGroupUsage<AGX::{G}::Encoders, AGX::{G}::Classes, AGX::{G}::ObjClasses>::bindResource(AGX::ResourceGroupBinding const&, unsigned int)",
                84,
            ),
            F(Img::Agx, SET_BUFFER, 132),
        ],
        abort: false,
        fix_frame: Some("agxfix_setBuffer"),
    },
    Pattern {
        id: "objc-msgsend-freed-encoder",
        top: &[F(Img::LibObjc, "objc_msgSend", 56)],
        abort: false,
        fix_frame: None,
    },
    Pattern {
        id: "objc-retain-freed-object",
        top: &[F(Img::LibObjc, "objc_retain", 16)],
        abort: false,
        fix_frame: None,
    },
    Pattern {
        id: "agx-encoder-already-encoding",
        top: &[
            F(
                Img::Agx,
                "-[AGX{F}FamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]",
                1360,
            ),
            F(Img::Agx, "-[AGX{F}FamilyCommandBuffer computeCommandEncoderWithConfig:]", 152),
            F(
                Img::Agx,
                "-[AGX{F}FamilyCommandBuffer computeCommandEncoderWithDispatchType:]",
                60,
            ),
        ],
        abort: true,
        fix_frame: Some("agxfix_computeCommandEncoderWithDispatchType"),
    },
    Pattern {
        id: "metal-commit-open-encoder",
        top: &[
            F(Img::IoGpu, "-[IOGPUMetalCommandBuffer validate]", 248),
            F(Img::Metal, "-[_MTLCommandBuffer commit]", 96),
        ],
        abort: true,
        fix_frame: Some("agxfix_commit"),
    },
    Pattern {
        id: "metal-signal-event-open-encoder",
        top: &[F(Img::IoGpu, "-[IOGPUMetalCommandBuffer encodeSignalEvent:value:]", 188)],
        abort: true,
        fix_frame: Some("agxfix_encodeSignalEvent"),
    },
    Pattern {
        id: "metal-completed-handler-after-commit",
        top: &[F(Img::Metal, "-[_MTLCommandBuffer addCompletedHandler:]", 148)],
        abort: true,
        fix_frame: None,
    },
];

/// The pattern with rule id `id` (panics on an unknown id: the callers are data tables).
pub fn pattern(id: &str) -> &'static Pattern {
    PATTERNS
        .iter()
        .find(|p| p.id == id)
        .expect("pattern ids in the plan are from PATTERNS")
}

/// The assertion texts Metal prints (wording checked against public reports; the line number
/// after the method name changes between OS builds).
pub(crate) fn abort_message(id: &str) -> &'static str {
    match id {
        "agx-encoder-already-encoding" => {
            "-[AGX{F}FamilyCommandBuffer tryCoalescingPreviousComputeCommandEncoderWithConfig:nextEncoderClass:]:1094: failed assertion `A command encoder is already encoding to this command buffer'"
        }
        "metal-commit-open-encoder" => {
            "-[IOGPUMetalCommandBuffer validate]:215: failed assertion `commit command buffer with uncommitted encoder'"
        }
        "metal-signal-event-open-encoder" => {
            "-[IOGPUMetalCommandBuffer encodeSignalEvent:value:]:440: failed assertion `encodeSignalEvent:value: with uncommitted encoder'"
        }
        _ => {
            "-[_MTLCommandBuffer addCompletedHandler:]:1011: failed assertion `Completed handler provided after commit call'"
        }
    }
}

/// The fault for one instance of a pattern. Wild and PAC addresses vary per report.
pub(crate) fn pattern_fault(id: &str, rng: &mut Rng, variant: usize) -> Fault {
    match id {
        "agx-null-impl-0x98" => Fault::NullRead(0x98),
        "agx-null-impl-0x5c8" => Fault::NullRead(0x5c8),
        "agx-null-0x5f4-dispatch" => Fault::NullRead(0x5f4),
        "agx-null-0x3b90-setbuffer" => Fault::NullRead(0x3b90),
        "agx-null-0x184-spill" => Fault::NullWrite(0x184),
        "agx-null-0x1e0-bindresource" => Fault::NullRead(0x1e0),
        "objc-msgsend-freed-encoder" => {
            if variant.is_multiple_of(2) {
                // The first one carries a PAC-signed address pair as macOS writes it (`0x00009ba36e2f2650 -> 0x00001ba36e2f2650`).
                let signed = if variant == 0 {
                    0x0000_9ba3_6e2f_2650
                } else {
                    0x0000_8000_0000_0000 | (rng.range(0x1000_0000_0000, 0x3fff_ffff_ffff) & !0xf)
                };
                Fault::Pac(signed, signed & 0x0000_1fff_ffff_ffff)
            } else {
                Fault::Wild(rng.range(0x7000_0000_0000, 0x7fff_ffff_ffff) & !0xf)
            }
        }
        "objc-retain-freed-object" => {
            Fault::Wild(rng.range(0x0b00_0000_0000, 0x0bff_ffff_ffff) & !0x7)
        }
        other => Fault::Abort("libsystem_c.dylib", abort_message(other)),
    }
}

/// `sym` with `{F}` and `{G}` replaced by the machine's AGX family and generation.
pub fn family_symbol(sym: &str, m: &Machine) -> String {
    sym.replace("{F}", m.family).replace("{G}", m.gen)
}
