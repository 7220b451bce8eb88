//! Realistic crashes of multithreaded PyTorch on MPS (and a few ordinary ones) on
//! Apple-silicon Macs, as the project's sample data tells them: machines, the images each
//! process loads (system images at their shared-cache bases, third-party ones at slid bases),
//! stack templates for every known AGX crash pattern of docs/BUCKETS.md and their contexts,
//! registers and faults, assembled into a [`Crash`] and written through [`crate::Report`].
//!
//! Everything is deterministic: a caller-seeded [`Rng`], explicit dates, and labels hashed into
//! UUIDs ([`crate::ids`]). The templates are made up in the shape of real reports; no real
//! report is copied. `examples/gen_samples.rs` tells the story (rounds, fixes, file names) with
//! these pieces.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};

use crate::ids::{hash, hex40, image_uuid, upper_uuid};
use crate::json::{obj, render_body, s, u, Style as Sty};
use crate::{
    Bundle, Exception, Frame, Hardware, Image, Os, Process as SynthProcess, Register,
    Report as SynthReport, SharedCache, System, Termination, Thread, ThreadState,
};

// ---------------------------------------------------------------------------------------------
// Deterministic helpers
// ---------------------------------------------------------------------------------------------

/// xorshift64* — small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed (any value but 0).
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-enough value in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    /// One of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

/// A wall-clock time with its UTC offset, as reports write times.
pub type Local = DateTime<FixedOffset>;

/// A wall-clock time in the given UTC offset (hours). October 2026 dates are PDT (-7), November
/// dates after the 1st are PST (-8): the samples straddle the DST change on purpose.
pub fn local(ymd: (i32, u32, u32), hms: (u32, u32, u32), offset_hours: i32) -> Local {
    let tz = FixedOffset::east_opt(offset_hours * 3600).expect("valid offset");
    tz.with_ymd_and_hms(ymd.0, ymd.1, ymd.2, hms.0, hms.1, hms.2)
        .single()
        .expect("valid date")
}

/// `captureTime` style: `2026-11-02 10:15:30.1234 -0800`.
pub fn fmt_capture(t: &Local) -> String {
    format!(
        "{}.{:04} {}",
        t.format("%Y-%m-%d %H:%M:%S"),
        t.timestamp_subsec_nanos() / 100_000,
        t.format("%z")
    )
}

/// Header `timestamp` style: `2026-11-02 10:15:33.00 -0800`.
pub fn fmt_header(t: &Local) -> String {
    format!("{}.00 {}", t.format("%Y-%m-%d %H:%M:%S"), t.format("%z"))
}

/// `2026-11-02T18:15:30.123Z`, as `rounds.jsonl` writes times.
pub fn fmt_utc(t: &Local) -> String {
    t.with_timezone(&Utc)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// `2026-11-02-101530`, as DiagnosticReports names files.
pub fn file_stamp(t: &Local) -> String {
    t.format("%Y-%m-%d-%H%M%S").to_string()
}

/// `s` seconds.
pub fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

/// `ms` milliseconds.
pub fn millis(ms: i64) -> Duration {
    Duration::milliseconds(ms)
}

// ---------------------------------------------------------------------------------------------
// Machines and binary images
// ---------------------------------------------------------------------------------------------

const OS_TRAIN: &str = "macOS 15.6";
const OS_BUILD: &str = "24G84";
const OS_VERSION: &str = "macOS 15.6 (24G84)";
const AGX_VERSION: &str = "329.2";

/// One Mac. `family` names the AGX driver bundle and its classes (`AGXG16XFamily...`), `gen`
/// the C++ namespace (`AGX::G16::Encoders`).
#[derive(Clone, Copy)]
pub struct Machine {
    /// `modelCode`: `Mac16,5`.
    pub model: &'static str,
    /// The AGX family: `G16X`.
    pub family: &'static str,
    /// The AGX generation namespace: `G16`.
    pub gen: &'static str,
    /// `Apple M4 Max`.
    pub chip: &'static str,
    /// `64 GB`.
    pub memory: &'static str,
    /// Boot time: uptime and absolute times count from here.
    pub boot: (i32, u32, u32, u32, u32, i32),
    /// Names the machine in hashed identifiers (keys, the shared-cache slide).
    pub label: &'static str,
}

/// Alice's M4 Max (G16X).
pub const M4_MAX: Machine = Machine {
    model: "Mac16,5",
    family: "G16X",
    gen: "G16",
    chip: "Apple M4 Max",
    memory: "64 GB",
    boot: (2026, 10, 26, 8, 12, -7),
    label: "alice-m4max",
};
/// The lab M3 Max (G15X).
pub const M3_MAX: Machine = Machine {
    model: "Mac15,9",
    family: "G15X",
    gen: "G15",
    chip: "Apple M3 Max",
    memory: "48 GB",
    boot: (2026, 10, 22, 17, 40, -7),
    label: "lab-m3max",
};
/// The lab M2 Max (G14X).
pub const M2_MAX: Machine = Machine {
    model: "Mac14,6",
    family: "G14X",
    gen: "G14",
    chip: "Apple M2 Max",
    memory: "32 GB",
    boot: (2026, 10, 28, 9, 5, -7),
    label: "lab-m2max",
};
/// Bob's M1 Max (G13X).
pub const M1_MAX: Machine = Machine {
    model: "MacBookPro18,2",
    family: "G13X",
    gen: "G13",
    chip: "Apple M1 Max",
    memory: "32 GB",
    boot: (2026, 10, 19, 7, 55, -7),
    label: "bob-m1max",
};

impl Machine {
    fn boot_time(&self) -> Local {
        let b = self.boot;
        local((b.0, b.1, b.2), (b.3, b.4, 0), b.5)
    }
    /// Where the dyld shared cache sits this boot (the slide differs per machine).
    fn cache_base(&self) -> u64 {
        0x1_8c00_0000 + (hash(self.label) % 0x400) * 0x4000
    }
}

/// Every binary a sample can reference.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Img {
    PyApp,
    PyFw,
    Fix,
    LibC10,
    Torch,
    TorchPy,
    Agx,
    UvPython,
    Numpy,
    FastBlur,
    LedgerSync,
    PixelNotes,
    // In the dyld shared cache:
    Kernel,
    Pthread,
    LibC,
    LibDispatch,
    LibObjc,
    LibCxx,
    LibCxxAbi,
    Metal,
    IoGpu,
    MpsCore,
    MpsNd,
    MpsGraph,
    CoreFoundation,
    Foundation,
    AppKit,
    HiToolbox,
    SwiftCore,
    Dyld,
}

/// The order system images sit in the shared cache (for non-overlapping bases).
const CACHE_ORDER: &[Img] = &[
    Img::Dyld,
    Img::LibDispatch,
    Img::LibC,
    Img::LibCxx,
    Img::LibCxxAbi,
    Img::Kernel,
    Img::Pthread,
    Img::LibObjc,
    Img::SwiftCore,
    Img::CoreFoundation,
    Img::Foundation,
    Img::AppKit,
    Img::Metal,
    Img::HiToolbox,
    Img::IoGpu,
    Img::MpsCore,
    Img::MpsNd,
    Img::MpsGraph,
];

/// A binary image as a machine has it: identity and size, not where it is loaded.
pub struct ImageSpec {
    /// File name: `libobjc.A.dylib`.
    pub name: String,
    /// Absolute path.
    pub path: String,
    /// `(CFBundleIdentifier, CFBundleShortVersionString, CFBundleVersion)`.
    pub bundle: Option<(String, String, String)>,
    /// Size in bytes.
    pub size: u64,
    /// `arm64e` (system) or `arm64`.
    pub arch: &'static str,
    /// Whether it lives in the dyld shared cache.
    pub in_cache: bool,
    /// Image UUID.
    pub uuid: String,
}

const PY_PREFIX: &str =
    "/opt/homebrew/Cellar/python@3.12/3.12.11/Frameworks/Python.framework/Versions/3.12";
const TORCH_LIB: &str = "/Users/alice/src/mps-stress/.venv/lib/python3.12/site-packages/torch/lib";
const UV_PYTHON: &str =
    "/Users/alice/.local/share/uv/python/cpython-3.12.11-macos-aarch64-none/bin/python3.12";
const IMGPROC_SITE: &str = "/Users/alice/src/imgproc/.venv/lib/python3.12/site-packages";

/// Where the fix dylib `libagx_fix_<fix>.dylib` is built (`fix` as `v2_4`).
pub fn fix_path(fix: &str) -> String {
    format!("/Users/alice/agx-fix/build/libagx_fix_{fix}.dylib")
}

fn bundle(id: &str, short: &str, ver: &str) -> Option<(String, String, String)> {
    Some((id.to_string(), short.to_string(), ver.to_string()))
}

fn image_spec(img: Img, m: &Machine, fix: Option<&str>) -> ImageSpec {
    let sys = |name: &str, path: &str, size: u64, b: Option<(String, String, String)>| ImageSpec {
        name: name.to_string(),
        path: path.to_string(),
        bundle: b,
        size,
        arch: "arm64e",
        in_cache: true,
        uuid: image_uuid(&format!("{OS_BUILD}:{path}")),
    };
    let third =
        |name: &str, path: String, size: u64, b: Option<(String, String, String)>| ImageSpec {
            uuid: image_uuid(&path),
            name: name.to_string(),
            path,
            bundle: b,
            size,
            arch: "arm64",
            in_cache: false,
        };
    match img {
        Img::PyApp => third(
            "Python",
            format!("{PY_PREFIX}/Resources/Python.app/Contents/MacOS/Python"),
            0x4000,
            bundle("org.python.python", "3.12.11", "3.12.11"),
        ),
        Img::PyFw => third("Python", format!("{PY_PREFIX}/Python"), 0x2c_8000, None),
        Img::Fix => {
            let fix = fix.unwrap_or("v2_3");
            third(&format!("libagx_fix_{fix}.dylib"), fix_path(fix), 0xc000, None)
        }
        Img::LibC10 => third("libc10.dylib", format!("{TORCH_LIB}/libc10.dylib"), 0x9_4000, None),
        Img::Torch => third(
            "libtorch_cpu.dylib",
            format!("{TORCH_LIB}/libtorch_cpu.dylib"),
            0x5f8_c000,
            None,
        ),
        Img::TorchPy => third(
            "libtorch_python.dylib",
            format!("{TORCH_LIB}/libtorch_python.dylib"),
            0xd9_0000,
            None,
        ),
        Img::Agx => {
            let name = format!("AGXMetal{}", m.family);
            ImageSpec {
                uuid: image_uuid(&format!("{OS_BUILD}:{name}")),
                path: format!("/System/Library/Extensions/{name}.bundle/Contents/MacOS/{name}"),
                bundle: bundle(&format!("com.apple.{name}"), AGX_VERSION, AGX_VERSION),
                name,
                size: 0x83_8000,
                arch: "arm64e",
                in_cache: false,
            }
        }
        Img::UvPython => third("python3.12", UV_PYTHON.to_string(), 0x4a_c000, None),
        Img::Numpy => third(
            "_multiarray_umath.cpython-312-darwin.so",
            format!("{IMGPROC_SITE}/numpy/_core/_multiarray_umath.cpython-312-darwin.so"),
            0x2f_0000,
            None,
        ),
        Img::FastBlur => third(
            "_fastblur.cpython-312-darwin.so",
            format!("{IMGPROC_SITE}/fastblur/_fastblur.cpython-312-darwin.so"),
            0x8000,
            None,
        ),
        Img::LedgerSync => third(
            "LedgerSync",
            "/Applications/LedgerSync.app/Contents/MacOS/LedgerSync".to_string(),
            0x15_c000,
            bundle("com.example.ledgersync", "2.4.1", "241"),
        ),
        Img::PixelNotes => third(
            "PixelNotes",
            "/Applications/PixelNotes.app/Contents/MacOS/PixelNotes".to_string(),
            0x24_0000,
            bundle("com.example.pixelnotes", "1.8", "1803"),
        ),
        Img::Kernel => sys(
            "libsystem_kernel.dylib",
            "/usr/lib/system/libsystem_kernel.dylib",
            0x3_b8a4,
            None,
        ),
        Img::Pthread => sys(
            "libsystem_pthread.dylib",
            "/usr/lib/system/libsystem_pthread.dylib",
            0xc_a4c,
            None,
        ),
        Img::LibC => sys("libsystem_c.dylib", "/usr/lib/system/libsystem_c.dylib", 0x8_1f20, None),
        Img::LibDispatch => sys(
            "libdispatch.dylib",
            "/usr/lib/system/libdispatch.dylib",
            0x4_6f60,
            None,
        ),
        Img::LibObjc => sys("libobjc.A.dylib", "/usr/lib/libobjc.A.dylib", 0x3_c9a0, None),
        Img::LibCxx => sys("libc++.1.dylib", "/usr/lib/libc++.1.dylib", 0x9_2c80, None),
        Img::LibCxxAbi => sys("libc++abi.dylib", "/usr/lib/libc++abi.dylib", 0x1_8d40, None),
        Img::Metal => sys(
            "Metal",
            "/System/Library/Frameworks/Metal.framework/Versions/A/Metal",
            0x2d_3e40,
            bundle("com.apple.Metal", "368.12", "368.12"),
        ),
        Img::IoGpu => sys(
            "IOGPU",
            "/System/Library/PrivateFrameworks/IOGPU.framework/Versions/A/IOGPU",
            0x4_f1a0,
            bundle("com.apple.IOGPU", "104.6.1", "104.6.1"),
        ),
        Img::MpsCore => sys(
            "MPSCore",
            "/System/Library/Frameworks/MetalPerformanceShaders.framework/Versions/A/Frameworks/MPSCore.framework/Versions/A/MPSCore",
            0xb_5e00,
            bundle("com.apple.MPSCore", "1.0", "1"),
        ),
        Img::MpsNd => sys(
            "MPSNDArray",
            "/System/Library/Frameworks/MetalPerformanceShaders.framework/Versions/A/Frameworks/MPSNDArray.framework/Versions/A/MPSNDArray",
            0x59_e2c0,
            bundle("com.apple.MPSNDArray", "1.0", "1"),
        ),
        Img::MpsGraph => sys(
            "MetalPerformanceShadersGraph",
            "/System/Library/Frameworks/MetalPerformanceShadersGraph.framework/Versions/A/MetalPerformanceShadersGraph",
            0xb4_19c0,
            bundle("com.apple.MetalPerformanceShadersGraph", "5.4.11", "5.4.11"),
        ),
        Img::CoreFoundation => sys(
            "CoreFoundation",
            "/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation",
            0x53_e000,
            bundle("com.apple.CoreFoundation", "6.9", "3603.1.401"),
        ),
        Img::Foundation => sys(
            "Foundation",
            "/System/Library/Frameworks/Foundation.framework/Versions/C/Foundation",
            0xde_95a0,
            bundle("com.apple.Foundation", "6.9", "3603.1.401"),
        ),
        Img::AppKit => sys(
            "AppKit",
            "/System/Library/Frameworks/AppKit.framework/Versions/C/AppKit",
            0x149_0e40,
            bundle("com.apple.AppKit", "6.9", "2575.70.52"),
        ),
        Img::HiToolbox => sys(
            "HIToolbox",
            "/System/Library/Frameworks/Carbon.framework/Versions/A/Frameworks/HIToolbox.framework/Versions/A/HIToolbox",
            0x30_3e80,
            bundle("com.apple.HIToolbox", "2.1.1", "1236"),
        ),
        Img::SwiftCore => sys(
            "libswiftCore.dylib",
            "/usr/lib/swift/libswiftCore.dylib",
            0x5c_5a60,
            None,
        ),
        Img::Dyld => sys("dyld", "/usr/lib/dyld", 0x9_c8e0, None),
    }
}

fn page_up(v: u64) -> u64 {
    (v + 0x3fff) & !0x3fff
}

/// Base address of a shared-cache image on this machine.
fn cache_image_base(img: Img, m: &Machine) -> u64 {
    let mut base = m.cache_base();
    for &c in CACHE_ORDER {
        if c == img {
            return base;
        }
        base += page_up(image_spec(c, m, None).size) + 0x8_0000;
    }
    base
}

/// Where a symbol starts inside its image: a stable function of the two names.
fn func_start(spec: &ImageSpec, symbol: &str) -> u64 {
    let span = (spec.size / 2).max(0x1000);
    (0x400 + hash(&format!("{}::{symbol}", spec.name)) % span) & !3
}

// ---------------------------------------------------------------------------------------------
// Frame templates (data)
// ---------------------------------------------------------------------------------------------

/// One template frame: image, symbol (with `{F}` for the AGX family such as `G16X` and `{G}`
/// for its generation namespace such as `G16`), offset into the symbol.
#[derive(Clone, Copy)]
pub struct F(pub Img, pub &'static str, pub u64);

const DISPATCH_SYNC: &[F] = &[
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

const ABORT: &[F] = &[
    F(Img::Kernel, "__pthread_kill", 8),
    F(Img::Pthread, "pthread_kill", 296),
    F(Img::LibC, "abort", 124),
    F(Img::LibC, "__assert_rtn", 284),
    F(Img::Metal, "MTLReportFailure.cold.1", 40),
    F(Img::Metal, "MTLReportFailure", 468),
];

const PREPARE_FOR_ENQUEUE: &str = "AGX::ComputeContext<AGX::{G}::Encoders, AGX::{G}::Classes, AGX::{G}::ObjClasses, AGX::{G}::EncoderComputeServiceClasses>::prepareForEnqueue(bool)";
const DISPATCH_THREADS: &str =
    "-[AGX{F}FamilyComputeContext dispatchThreads:threadsPerThreadgroup:]";
const SET_PIPELINE: &str = "-[AGX{F}FamilyComputeContext setComputePipelineState:]";
const SET_BUFFER: &str = "-[AGX{F}FamilyComputeContext setBuffer:offset:atIndex:]";
const BINARY_OP_TENSOR: &str = "at::native::mps::binaryOpTensor(at::Tensor const&, at::Tensor const&, at::Tensor const&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>>, MPSGraphTensor* (at::native::mps::BinaryOpCachedGraph*, MPSGraphTensor*, MPSGraphTensor*) block_pointer)";
const EXEC_BINARY_KERNEL: &str = "at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)";
const BLOCK_EXEC_BINARY_KERNEL: &str = "invocation function for block in at::native::mps::MetalShaderLibrary::exec_binary_kernel(at::TensorIteratorBase&, std::__1::basic_string<char, std::__1::char_traits<char>, std::__1::allocator<char>> const&, std::__1::optional<c10::Scalar>, std::__1::optional<c10::ScalarType>)";
const LAYER_NORM_MPS: &str = "at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double)";
const BLOCK_LAYER_NORM_MPS: &str = "invocation function for block in at::native::layer_norm_mps(at::Tensor const&, c10::ArrayRef<long long>, std::__1::optional<at::Tensor> const&, std::__1::optional<at::Tensor> const&, double)";
const EXECUTE_MPS_GRAPH: &str = "at::mps::MPSStream::executeMPSGraph(MPSGraph*, NSDictionary*, NSDictionary*, at::mps::SyncType)";
const BLOCK_EXECUTE_MPS_GRAPH: &str = "invocation function for block in at::mps::MPSStream::executeMPSGraph(MPSGraph*, NSDictionary*, NSDictionary*, at::mps::SyncType)";
const ADD_FUNCTOR: &str = "c10::impl::wrap_kernel_functor_unboxed_<c10::impl::detail::WrapFunctionIntoFunctor_<c10::CompileTimeFunctionPointer<at::Tensor (at::Tensor const&, at::Tensor const&, c10::Scalar const&), &at::(anonymous namespace)::wrapper_MPS_add_Tensor(at::Tensor const&, at::Tensor const&, c10::Scalar const&)>, at::Tensor, c10::guts::typelist::typelist<at::Tensor const&, at::Tensor const&, c10::Scalar const&>>, at::Tensor (at::Tensor const&, at::Tensor const&, c10::Scalar const&)>::call(c10::OperatorKernel*, c10::DispatchKeySet, at::Tensor const&, at::Tensor const&, c10::Scalar const&)";

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

fn ctx_frames(ctx: Ctx) -> (Vec<F>, F) {
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
enum Fault {
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
fn abort_message(id: &str) -> &'static str {
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
fn pattern_fault(id: &str, rng: &mut Rng, variant: usize) -> Fault {
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

// ---------------------------------------------------------------------------------------------
// The report model the renderers share
// ---------------------------------------------------------------------------------------------

struct FrameOut {
    image: usize,
    offset: u64,
    symbol: Option<String>,
    location: u64,
}

struct ThreadOut {
    id: u64,
    name: Option<String>,
    queue: Option<String>,
    frames: Vec<FrameOut>,
    /// 29 general registers, then fp, lr, sp, pc, cpsr, far, esr.
    x: Vec<(u64, Option<String>)>,
    fp: u64,
    lr: u64,
    sp: u64,
    pc: u64,
    cpsr: u64,
    far: u64,
    esr: (u64, &'static str),
}

/// An image where one process loaded it.
pub struct ImageOut {
    /// What it is.
    pub spec: ImageSpec,
    /// Load address.
    pub base: u64,
}

/// The crashed process, as the scenario knows it.
pub struct Proc {
    /// Process name.
    pub name: String,
    /// The header's `bundleID`.
    pub bundle_id: Option<String>,
    /// `app_version`.
    pub app_version: String,
    /// `build_version`.
    pub build_version: String,
    /// Process id.
    pub pid: u64,
    /// Parent name and pid.
    pub parent: (String, u64),
    /// Responsible process name and pid.
    pub responsible: (String, u64),
    /// `procRole`.
    pub role: &'static str,
    /// `coalitionName` (its id is hashed from it).
    pub coalition: String,
    /// `codeSigningID`.
    pub signing_id: String,
    /// `codeSigningTeamID`.
    pub team_id: String,
}

/// One assembled crash: what happened, when and where, before it is written out.
pub struct Crash {
    /// The Mac.
    pub machine: Machine,
    /// The crashed process.
    pub process: Proc,
    /// Incident id.
    pub incident: String,
    /// When it crashed (`captureTime`).
    pub capture: Local,
    /// When the report was written (the header's `timestamp`, the file name).
    pub written: Local,
    /// When the process started.
    pub launch: Local,
    /// `EXC_BAD_ACCESS`...
    pub exc_type: &'static str,
    /// `SIGSEGV`...
    pub signal: &'static str,
    /// Exception codes.
    pub codes: (u64, u64),
    /// Exception subtype.
    pub subtype: Option<String>,
    /// Termination code, indicator and `byProc`.
    pub termination: (u64, &'static str, String),
    /// Application-specific information: library and message.
    pub asi: Option<(String, String)>,
    /// `vmRegionInfo`.
    pub vm_region: Option<String>,
    /// Index of the crashed thread.
    pub crashed: usize,
    threads: Vec<ThreadOut>,
    /// Images in `usedImages` order.
    pub images: Vec<ImageOut>,
    /// Whether `usedImages` ends with the absolute (`source: "A"`) null entry.
    pub null_image: bool,
    /// Names the crash in hashed identifiers.
    pub label: String,
}

/// A thread before images are resolved.
struct ThreadPlan {
    name: Option<String>,
    queue: Option<String>,
    frames: Vec<(Img, Option<String>, u64)>,
}

fn tframes(list: &[F], m: &Machine) -> Vec<(Img, Option<String>, u64)> {
    list.iter()
        .map(|f| (f.0, Some(family_symbol(f.1, m)), f.2))
        .collect()
}

/// The Python stack below a torch C-API call on a `threading.Thread`.
fn python_worker_tail(call: F, rng: &mut Rng) -> Vec<F> {
    let evals: [u64; 5] = [11384, 23412, 4608, 30572, 7196];
    vec![
        call,
        F(Img::PyFw, "PyObject_Vectorcall", 92),
        F(Img::PyFw, "_PyEval_EvalFrameDefault", rng.pick(&evals)),
        F(Img::PyFw, "_PyFunction_Vectorcall", 184),
        F(Img::PyFw, "_PyEval_EvalFrameDefault", rng.pick(&evals)),
        F(Img::PyFw, "method_vectorcall", 372),
        F(Img::PyFw, "thread_run", 180),
        F(Img::PyFw, "pythread_wrapper", 48),
        F(Img::Pthread, "_pthread_start", 136),
        F(Img::Pthread, "thread_start", 8),
    ]
}

const PY_MAIN: &[F] = &[
    F(Img::Kernel, "__psynch_cvwait", 8),
    F(Img::Pthread, "_pthread_cond_wait", 984),
    F(Img::PyFw, "PyThread_acquire_lock_timed", 396),
    F(Img::PyFw, "lock_PyThread_acquire_lock", 276),
    F(Img::PyFw, "method_vectorcall_VARARGS_KEYWORDS", 152),
    F(Img::PyFw, "_PyEval_EvalFrameDefault", 25608),
    F(Img::PyFw, "PyEval_EvalCode", 184),
    F(Img::PyFw, "run_eval_code_obj", 88),
    F(Img::PyFw, "run_mod", 124),
    F(Img::PyFw, "_PyRun_SimpleFileObject", 876),
    F(Img::PyFw, "_PyRun_AnyFileObject", 112),
    F(Img::PyFw, "pymain_run_python", 1304),
    F(Img::PyFw, "Py_RunMain", 24),
    F(Img::PyFw, "pymain_main", 52),
    F(Img::PyFw, "Py_BytesMain", 40),
    F(Img::PyApp, "main", 24),
    F(Img::Dyld, "start", 6076),
];

const GIL_WAIT: &[F] = &[
    F(Img::Kernel, "__psynch_cvwait", 8),
    F(Img::Pthread, "_pthread_cond_wait", 984),
    F(Img::PyFw, "take_gil", 224),
    F(Img::PyFw, "PyEval_RestoreThread", 28),
    F(
        Img::TorchPy,
        "torch::autograd::THPVariable_mul(_object*, _object*, _object*)",
        536,
    ),
];

const WAIT_COMPLETED: &[F] = &[
    F(Img::Kernel, "__psynch_cvwait", 8),
    F(Img::Pthread, "_pthread_cond_wait", 984),
    F(Img::Metal, "-[_MTLCommandBuffer waitUntilCompleted]", 76),
    F(Img::Torch, "at::mps::MPSStream::commitAndWait()", 96),
    F(
        Img::Torch,
        "invocation function for block in at::mps::MPSStream::synchronize(at::mps::SyncType)",
        152,
    ),
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
    F(
        Img::Torch,
        "at::mps::MPSStream::synchronize(at::mps::SyncType)",
        180,
    ),
    F(
        Img::TorchPy,
        "torch::mps::_mps_deviceSynchronize(_object*, _object*)",
        48,
    ),
];

const COMPLETION_QUEUE: &[F] = &[
    F(Img::Kernel, "__psynch_mutexwait", 8),
    F(Img::Pthread, "_pthread_mutex_firstfit_lock_wait", 84),
    F(Img::Pthread, "_pthread_mutex_firstfit_lock_slow", 220),
    F(Img::LibCxx, "std::__1::mutex::lock()", 16),
    F(
        Img::Torch,
        "invocation function for block in at::mps::HeapAllocator::MPSHeapAllocatorImpl::free_buffer(at::mps::HeapAllocator::BufferBlock*)",
        60,
    ),
    F(
        Img::Metal,
        "-[_MTLCommandBuffer didCompleteWithStartTime:endTime:error:]",
        584,
    ),
    F(
        Img::IoGpu,
        "-[IOGPUMetalCommandBuffer didCompleteWithStartTime:endTime:error:]",
        220,
    ),
    F(
        Img::Metal,
        "-[_MTLCommandQueue commandBufferDidComplete:startTime:completionTime:error:]",
        108,
    ),
    F(
        Img::IoGpu,
        "IOGPUNotificationQueueDispatchAvailableCompletionNotifications",
        128,
    ),
    F(
        Img::IoGpu,
        "__IOGPUNotificationQueueSetDispatchQueue_block_invoke",
        64,
    ),
    F(Img::LibDispatch, "_dispatch_client_callout4", 16),
    F(Img::LibDispatch, "_dispatch_mach_msg_invoke", 468),
    F(Img::LibDispatch, "_dispatch_lane_serial_drain", 368),
    F(Img::LibDispatch, "_dispatch_mach_invoke", 444),
    F(Img::LibDispatch, "_dispatch_lane_serial_drain", 368),
    F(Img::LibDispatch, "_dispatch_lane_invoke", 380),
    F(Img::LibDispatch, "_dispatch_root_queue_drain_deferred_wlh", 288),
    F(Img::LibDispatch, "_dispatch_workloop_worker_thread", 540),
    F(Img::Pthread, "_pthread_wqthread", 288),
    F(Img::Pthread, "start_wqthread", 8),
];

const IDLE_WQ: &[F] = &[
    F(Img::Kernel, "__workq_kernreturn", 8),
    F(Img::Pthread, "_pthread_wqthread", 364),
    F(Img::Pthread, "start_wqthread", 8),
];

/// Which libtorch_cpu frames lose their names (a stripped wheel, a partial symbolication).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Unsym {
    None,
    /// libtorch_cpu frames after the first three keep only their offsets.
    Deep,
    /// Every libtorch_cpu frame keeps only its offset.
    All,
}

fn apply_unsym(frames: &mut [(Img, Option<String>, u64)], mode: Unsym) {
    let mut seen = 0;
    for f in frames.iter_mut() {
        if f.0 != Img::Torch {
            continue;
        }
        seen += 1;
        let strip = match mode {
            Unsym::None => false,
            Unsym::Deep => seen > 3,
            Unsym::All => true,
        };
        if strip {
            f.1 = None;
        }
    }
}

/// Everything a crash needs before assembly.
struct CrashInput {
    machine: Machine,
    process: Proc,
    /// Images loaded outside the shared cache, in load order (main executable first).
    loaded: Vec<Img>,
    fix: Option<String>,
    threads: Vec<ThreadPlan>,
    crashed: usize,
    fault: Fault,
    capture: Local,
    launch: Local,
    written_delay: i64,
    label: String,
    /// A register to annotate with a symbol (`OBJC_CLASS_$_...`), by image.
    annotate: Option<(Img, String)>,
}

fn assemble(input: CrashInput, rng: &mut Rng) -> Crash {
    let m = input.machine;
    let fix = input.fix.as_deref();
    // usedImages: loaded images first, then shared-cache images in order of first reference.
    let mut order: Vec<Img> = input.loaded.clone();
    for t in &input.threads {
        for f in &t.frames {
            if !order.contains(&f.0) {
                order.push(f.0);
            }
        }
    }
    let mut next_base = 0x1_0000_0000 + rng.range(0x100, 0x3ff) * 0x4000;
    let mut images: Vec<ImageOut> = Vec::new();
    for img in &order {
        let spec = image_spec(*img, &m, fix);
        let base = if spec.in_cache {
            cache_image_base(*img, &m)
        } else {
            let b = next_base;
            next_base = page_up(b + spec.size) + rng.range(0, 24) * 0x4000;
            b
        };
        images.push(ImageOut { spec, base });
    }
    let index_of = |img: Img| order.iter().position(|x| *x == img).unwrap_or(0);

    let mut thread_id = 0x6a_0000 + rng.range(0, 0x3f_ffff);
    let mut threads = Vec::new();
    for (ti, plan) in input.threads.iter().enumerate() {
        let frames: Vec<FrameOut> = plan
            .frames
            .iter()
            .map(|(img, sym, loc)| {
                let i = index_of(*img);
                let spec = &images[i].spec;
                let key = sym.clone().unwrap_or_default();
                // Unsymbolicated frames keep the offset they would have had with a name.
                let start = func_start(spec, &key);
                FrameOut {
                    image: i,
                    offset: start + loc,
                    symbol: sym.clone(),
                    location: *loc,
                }
            })
            .collect();
        let addr = |k: usize| -> u64 {
            frames
                .get(k)
                .map(|f| images[f.image].base + f.offset)
                .unwrap_or(0)
        };
        let pc = addr(0);
        let lr = addr(1);
        let sp = (0x1_6b00_0000 + (ti as u64) * 0x8_0000 + rng.range(0x1000, 0x7_0000)) & !0xf;
        let mut x: Vec<(u64, Option<String>)> = (0..29)
            .map(|r| {
                let v = match rng.range(0, 5) {
                    0 => 0,
                    1 => rng.range(1, 0x400),
                    2 => 0x6000_0000_0000 + (rng.range(0, 0xff_ffff) << 4),
                    3 => (sp + rng.range(0x10, 0x400)) & !0x7,
                    _ => rng.next_u64() >> (r % 3 * 8),
                };
                (v, None)
            })
            .collect();
        let crashed = ti == input.crashed;
        let (far, esr) = if crashed {
            match input.fault {
                Fault::NullRead(a) => {
                    (a, (0x9200_0006, "(Data Abort) byte read Translation fault"))
                }
                Fault::NullWrite(a) => (
                    a,
                    (0x9200_0046, "(Data Abort) byte write Translation fault"),
                ),
                Fault::Wild(a) => (a, (0x9200_0004, "(Data Abort) byte read Translation fault")),
                Fault::Pac(a, _) => (a, (0x9200_0004, "(Data Abort) byte read Translation fault")),
                Fault::Abort(..) => (0, (0x5600_0080, "(Syscall)")),
            }
        } else {
            (0, (0x5600_0080, "(Syscall)"))
        };
        if crashed {
            match input.fault {
                // `_impl` was NULL: the base register of the faulting load is zero.
                Fault::NullRead(_) | Fault::NullWrite(_) => {
                    x[8] = (0, None);
                }
                Fault::Wild(a) | Fault::Pac(a, _) => {
                    x[0] = (0x6000_0000_0000 + (rng.range(0, 0xff_ffff) << 4), None);
                    x[16] = (a, None);
                }
                Fault::Abort(..) => {
                    x[0] = (0, None);
                    x[1] = (0, None);
                    x[2] = (0, None);
                    x[16] = (328, None);
                }
            }
            if let Some((img, sym)) = &input.annotate {
                let i = index_of(*img);
                let value = images[i].base
                    + page_up(images[i].spec.size)
                    + 0x2_4000
                    + rng.range(0, 0x800) * 8;
                x[20] = (value, Some(sym.clone()));
            }
        }
        threads.push(ThreadOut {
            id: thread_id,
            name: plan.name.clone(),
            queue: plan.queue.clone(),
            frames,
            x,
            fp: sp + 0x60 + rng.range(0, 0x40) * 0x10,
            lr,
            sp,
            pc,
            cpsr: if crashed { 0x8000_1000 } else { 0x6000_0000 },
            far,
            esr,
        });
        thread_id += rng.range(3, 400);
    }

    let (exc_type, signal, codes, subtype, termination, vm_region, asi) = match input.fault {
        Fault::NullRead(a) | Fault::NullWrite(a) | Fault::Wild(a) => (
            "EXC_BAD_ACCESS",
            "SIGSEGV",
            (1, a),
            Some(format!("KERN_INVALID_ADDRESS at 0x{a:016x}")),
            (11, "Segmentation fault: 11", "exc handler".to_string()),
            Some(vm_region_info(a, &images)),
            None,
        ),
        Fault::Pac(signed, stripped) => (
            "EXC_BAD_ACCESS",
            "SIGSEGV",
            (1, signed),
            Some(format!(
                "KERN_INVALID_ADDRESS at 0x{signed:016x} -> 0x{stripped:016x} (possible pointer authentication failure)"
            )),
            (11, "Segmentation fault: 11", "exc handler".to_string()),
            Some(vm_region_info(stripped, &images)),
            None,
        ),
        Fault::Abort(lib, msg) => (
            "EXC_CRASH",
            "SIGABRT",
            (0, 0),
            None,
            (6, "Abort trap: 6", input.process.name.clone()),
            None,
            Some((lib.to_string(), family_symbol(msg, &m))),
        ),
    };
    Crash {
        machine: m,
        incident: upper_uuid(&format!("incident/{}", input.label)),
        capture: input.capture,
        written: input.capture + secs(input.written_delay),
        launch: input.launch,
        exc_type,
        signal,
        codes,
        subtype,
        termination,
        asi,
        vm_region,
        crashed: input.crashed,
        threads,
        images,
        null_image: true,
        label: input.label,
        process: input.process,
    }
}

/// `16K`, `4.7M`: the VSIZE column of region listings.
fn vsize(bytes: u64) -> String {
    if bytes < 1024 * 1024 {
        format!("{}K", bytes / 1024)
    } else {
        format!("{:.1}M", bytes as f64 / (1024.0 * 1024.0))
    }
}

const REGION_HEADER: &str =
    "      REGION TYPE                    START - END         [ VSIZE] PRT/MAX SHRMOD  REGION DETAIL";

fn vm_region_info(addr: u64, images: &[ImageOut]) -> String {
    if addr < 0x1_0000_0000 {
        let first = &images[0];
        return format!(
            "0x{addr:x} is not in any region.  Bytes before following region: {}\n{REGION_HEADER}\n      UNUSED SPACE AT START\n--->  \n      __TEXT                      {:x}-{:x}    [{:>6}] r-x/r-x SM=COW  {}",
            first.base - addr,
            first.base,
            first.base + page_up(first.spec.size),
            vsize(page_up(first.spec.size)),
            first.spec.path
        );
    }
    let nano = "MALLOC_NANO                 600000000000-600020000000 [512.0M] rw-/rwx SM=PRV  ";
    if addr < 0x6000_0000_0000 {
        format!(
            "0x{addr:x} is not in any region.  Bytes after previous region: {}  Bytes before following region: {}\n{REGION_HEADER}\n      commpage (reserved)        fc0000000-1000000000   [  1.0G] ---/--- SM=NUL  reserved VM address space (unallocated)\n--->  \n      {nano}",
            addr - 0x10_0000_0000,
            0x6000_0000_0000 - addr
        )
    } else {
        format!(
            "0x{addr:x} is not in any region.  Bytes after previous region: {}  \n{REGION_HEADER}\n      {nano}\n--->  \n      UNUSED SPACE AT END",
            addr - 0x6000_2000_0000
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering: .ips
// ---------------------------------------------------------------------------------------------

fn uptime_secs(r: &Crash) -> i64 {
    (r.capture - r.machine.boot_time()).num_seconds()
}

/// Apple rounds `uptime` coarsely.
fn rounded_uptime(r: &Crash) -> u64 {
    let up = uptime_secs(r).max(0) as u64;
    if up > 10_000 {
        up / 1000 * 1000
    } else {
        up / 100 * 100
    }
}

fn abs_time(r: &Crash, t: &Local) -> u64 {
    // Mach absolute time ticks at 24 MHz on Apple silicon.
    let since = *t - r.machine.boot_time();
    (since.num_milliseconds().max(0) as u64) * 24_000
}

fn vm_summary(r: &Crash) -> String {
    let h = hash(&r.label);
    let malloc = 180 + h % 900;
    let stack = 8 + h % 7;
    format!(
        "ReadOnly portion of Libraries: Total=1.4G resident=0K(0%) swapped_out_or_unallocated=1.4G(100%)\nWritable regions: Total={:.1}G written=1129K(0%) resident=1129K(0%) swapped_out=0K(0%) unallocated={:.1}G(100%)\n\n                                VIRTUAL   REGION \nREGION TYPE                        SIZE    COUNT (non-coalesced) \n===========                     =======  ======= \nActivity Tracing                   256K        1 \nIOAccelerator                     {malloc:>4}.0M     {:>4} \nKernel Alloc Once                   32K        1 \nMALLOC                             2.4G      117 \nMALLOC guard page                  288K       18 \nSTACK GUARD                       56.3M       {stack:>2} \nStack                             {:>4}.1M       {stack:>2} \n__AUTH                            1163K      247 \n__AUTH_CONST                      14.6M      452 \n__DATA                            12.9M      455 \n__DATA_CONST                      18.5M      474 \n__DATA_DIRTY                       978K      160 \n__LINKEDIT                       668.6M       12 \n__OBJC_RO                         61.3M        1 \n__OBJC_RW                         2391K        1 \n__TEXT                           777.3M      486 \ndyld private memory                128K        1 \nshared memory                      720K        9 \n===========                     =======  ======= \nTOTAL                              3.8G     2543 \n",
        2.1 + (h % 40) as f64 / 10.0,
        2.1 + (h % 40) as f64 / 10.0,
        malloc / 60 + 1,
        stack * 8,
    )
}

// ---------------------------------------------------------------------------------------------
// Rendering: every format through agx-synth
// ---------------------------------------------------------------------------------------------

fn synth_bundle(b: &Option<(String, String, String)>) -> Option<Bundle> {
    b.as_ref()
        .map(|(id, short, ver)| Bundle::new(id, short, ver))
}

fn synth_frame(f: &FrameOut) -> Frame {
    Frame {
        image: f.image,
        offset: f.offset,
        symbol: f.symbol.clone(),
        location: f.location,
        source: None,
    }
}

/// The report as agx-synth writes it: times formatted, keys and counters derived from the
/// machine and the report's label.
fn synth(r: &Crash) -> SynthReport {
    let p = &r.process;
    let m = &r.machine;
    let main = &r.images[0].spec;
    let key = |k: &str| upper_uuid(&format!("{}/{k}", m.label));
    let threads = r
        .threads
        .iter()
        .map(|t| Thread {
            id: t.id,
            name: t.name.clone(),
            queue: t.queue.clone(),
            state: Some(ThreadState {
                x: t.x
                    .iter()
                    .map(|(value, symbol)| Register {
                        value: *value,
                        symbol: symbol.clone(),
                    })
                    .collect(),
                fp: t.fp,
                lr: t.lr,
                sp: t.sp,
                pc: t.pc,
                cpsr: t.cpsr,
                far: t.far,
                esr: (t.esr.0, t.esr.1.to_string()),
            }),
            frames: t.frames.iter().map(synth_frame).collect(),
        })
        .collect();
    let images = r
        .images
        .iter()
        .map(|img| Image {
            name: img.spec.name.clone(),
            path: img.spec.path.clone(),
            uuid: img.spec.uuid.clone(),
            base: img.base,
            size: img.spec.size,
            arch: img.spec.arch.to_string(),
            source: "P".to_string(),
            bundle: synth_bundle(&img.spec.bundle),
        })
        .collect();
    let process = SynthProcess {
        name: p.name.clone(),
        path: main.path.clone(),
        pid: p.pid,
        bundle_id: p.bundle_id.clone(),
        bundle: synth_bundle(&main.bundle),
        app_version: p.app_version.clone(),
        build_version: p.build_version.clone(),
        parent: p.parent.clone(),
        responsible: p.responsible.clone(),
        role: p.role.to_string(),
        user_id: 501,
        coalition_id: 2000 + hash(&p.coalition) % 9000,
        coalition_name: p.coalition.clone(),
        signing_id: p.signing_id.clone(),
        team_id: p.team_id.clone(),
        launch: fmt_capture(&r.launch),
        start_abs_time: abs_time(r, &r.launch),
        exit_abs_time: abs_time(r, &r.capture),
    };
    SynthReport {
        incident: r.incident.clone(),
        timestamp: fmt_header(&r.written),
        capture_time: fmt_capture(&r.capture),
        os: Os::new(OS_TRAIN, OS_BUILD),
        hardware: Hardware::new(m.model, m.chip, m.memory),
        process,
        exception: Exception {
            exc_type: r.exc_type.to_string(),
            signal: r.signal.to_string(),
            codes: r.codes,
            subtype: r.subtype.clone(),
            message: None,
        },
        termination: Termination::signal(r.termination.0, r.termination.1).by(&r.termination.2),
        asi: r.asi.clone().map(|(lib, msg)| (lib, vec![msg])),
        vm_region_info: r.vm_region.clone(),
        last_exception_backtrace: None,
        faulting_thread: r.crashed,
        threads,
        images,
        absolute_null_image: r.null_image,
        shared_cache: Some(SharedCache {
            base: m.cache_base(),
            size: 5_025_398_784,
            uuid: image_uuid(&format!("{OS_BUILD}/shared-cache")),
        }),
        vm_summary: Some(vm_summary(r)),
        system: System {
            uptime: rounded_uptime(r),
            wake_time: 3000 + hash(&r.label) % 4000,
            time_since_wake: 1500 + hash(&r.label) % 3000,
            crash_reporter_key: key("crash-reporter-key"),
            anonymous_uuid: key("anonymous"),
            boot_session_uuid: key("boot-session"),
            sleep_wake_uuid: key("sleep-wake"),
            log_writing_signature: hex40(&r.label),
            task_for_pid: 12 + hash(&r.label) % 40,
        },
    }
}

/// The crash as an `.ips` file.
pub fn render_ips(r: &Crash) -> String {
    synth(r).build_ips()
}

/// The crash as legacy `.crash` text.
pub fn render_legacy(r: &Crash) -> String {
    synth(r).build_legacy()
}

/// The crash as the crash dialog's copy (legacy text, then the `.ips`).
pub fn render_translated(r: &Crash) -> String {
    synth(r).build_translated()
}
// ---------------------------------------------------------------------------------------------
// Building the Python (PyTorch MPS) crashes
// ---------------------------------------------------------------------------------------------

/// A PyTorch/MPS crash to assemble with [`python_crash`].
pub struct PyCrash<'a> {
    /// The pattern's rule id.
    pub pattern: &'a str,
    /// The PyTorch operation under the driver frames.
    pub ctx: Ctx,
    /// The Mac.
    pub machine: Machine,
    /// `v2_3`, `v2_4`, or `None` for native rounds.
    pub fix: Option<&'static str>,
    /// When it crashed (`captureTime`).
    pub capture: Local,
    /// When the process started.
    pub launch: Local,
    /// Process id.
    pub pid: u64,
    /// Parent name and pid.
    pub parent: (&'static str, u64),
    /// Which libtorch frames lose their names.
    pub unsym: Unsym,
    /// Names the crash in hashed identifiers.
    pub label: String,
    /// Picks among the pattern's fault addresses.
    pub variant: usize,
}

fn python_process(pid: u64, parent: (&str, u64)) -> Proc {
    Proc {
        name: "Python".to_string(),
        bundle_id: Some("org.python.python".to_string()),
        app_version: "3.12.11".to_string(),
        build_version: "3.12.11".to_string(),
        pid,
        parent: (parent.0.to_string(), parent.1),
        responsible: ("Terminal".to_string(), 612),
        role: "Unspecified",
        coalition: "com.apple.Terminal".to_string(),
        signing_id: "org.python.python".to_string(),
        team_id: String::new(),
    }
}

/// A multithreaded PyTorch/MPS crash: main thread, eight workers (one crashed with the pattern's stack), Metal's completion queue and idle workqueue threads.
pub fn python_crash(c: PyCrash, rng: &mut Rng) -> Crash {
    let m = c.machine;
    let pat = pattern(c.pattern);
    let fault = pattern_fault(c.pattern, rng, c.variant);
    let mut crashed: Vec<(Img, Option<String>, u64)> = Vec::new();
    if pat.abort {
        crashed.extend(tframes(ABORT, &m));
    }
    // Driver build offsets differ per GPU family; the rules must ignore `+N`.
    let family_shift = (hash(m.family) % 8) * 4;
    for f in pat.top {
        let shift = if f.0 == Img::Agx { family_shift } else { 0 };
        crashed.push((f.0, Some(family_symbol(f.1, &m)), f.2 + shift));
    }
    if let (Some(_), Some(fixf)) = (c.fix, pat.fix_frame) {
        crashed.push((Img::Fix, Some(fixf.to_string()), 68 + (hash(fixf) % 12) * 4));
    }
    let (ctx, call) = ctx_frames(c.ctx);
    crashed.extend(tframes(&ctx, &m));
    crashed.extend(tframes(&python_worker_tail(call, rng), &m));
    apply_unsym(&mut crashed, c.unsym);

    // main, 8 workers (one crashed), the Metal completion queue, idle workqueue threads.
    let crashed_worker = rng.range(1, 8) as usize;
    let mut threads = vec![ThreadPlan {
        name: None,
        queue: Some("com.apple.main-thread".to_string()),
        frames: tframes(PY_MAIN, &m),
    }];
    let mut crashed_index = 0;
    for w in 1..=8 {
        if w == crashed_worker {
            crashed_index = threads.len();
            threads.push(ThreadPlan {
                name: None,
                queue: Some("metal gpu stream".to_string()),
                frames: crashed.clone(),
            });
        } else {
            let body: &[F] = if w % 3 == 0 { WAIT_COMPLETED } else { GIL_WAIT };
            let mut frames = tframes(body, &m);
            let call = F(Img::PyFw, "method_vectorcall_VARARGS_KEYWORDS", 152);
            frames.extend(tframes(&python_worker_tail(call, rng)[1..], &m));
            threads.push(ThreadPlan {
                name: None,
                queue: None,
                frames,
            });
        }
    }
    threads.push(ThreadPlan {
        name: None,
        queue: Some("com.Metal.CompletionQueueDispatch".to_string()),
        frames: tframes(COMPLETION_QUEUE, &m),
    });
    for _ in 0..2 {
        threads.push(ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        });
    }

    let mut loaded = vec![Img::PyApp];
    if c.fix.is_some() {
        loaded.push(Img::Fix);
    }
    loaded.extend([Img::PyFw, Img::LibC10, Img::Torch, Img::TorchPy, Img::Agx]);
    let annotate = match fault {
        Fault::NullRead(_) | Fault::NullWrite(_) => Some((
            Img::Agx,
            format!("OBJC_CLASS_$_AGX{}FamilyComputeContext", m.family),
        )),
        _ => None,
    };
    assemble(
        CrashInput {
            machine: m,
            process: python_process(c.pid, c.parent),
            loaded,
            fix: c.fix.map(str::to_string),
            threads,
            crashed: crashed_index,
            fault,
            capture: c.capture,
            launch: c.launch,
            written_delay: rng.range(2, 9) as i64,
            label: c.label,
            annotate,
        },
        rng,
    )
}

// ---------------------------------------------------------------------------------------------
// Ordinary (non-AGX) crashes
// ---------------------------------------------------------------------------------------------

/// Python segfault in a custom C extension working on a numpy array (uv-managed Python).
pub fn numpy_extension_crash(rng: &mut Rng) -> Crash {
    let m = M4_MAX;
    let capture = local((2026, 11, 3), (14, 22, 41), -8) + millis(5072);
    let crashed = vec![
        F(Img::FastBlur, "blur_rows_f32", 212),
        F(Img::FastBlur, "fastblur_gaussian", 596),
        F(Img::UvPython, "cfunction_call", 60),
        F(Img::UvPython, "_PyObject_MakeTpCall", 128),
        F(Img::UvPython, "_PyEval_EvalFrameDefault", 30572),
        F(Img::UvPython, "PyEval_EvalCode", 184),
        F(Img::UvPython, "run_eval_code_obj", 88),
        F(Img::UvPython, "run_mod", 124),
        F(Img::UvPython, "_PyRun_SimpleFileObject", 876),
        F(Img::UvPython, "_PyRun_AnyFileObject", 112),
        F(Img::UvPython, "pymain_run_python", 1304),
        F(Img::UvPython, "Py_RunMain", 24),
        F(Img::UvPython, "pymain_main", 52),
        F(Img::UvPython, "main", 28),
        F(Img::Dyld, "start", 6076),
    ];
    let openblas = [
        F(Img::Kernel, "__psynch_cvwait", 8),
        F(Img::Pthread, "_pthread_cond_wait", 984),
        F(Img::Numpy, "blas_thread_server", 388),
        F(Img::Pthread, "_pthread_start", 136),
        F(Img::Pthread, "thread_start", 8),
    ];
    let mut threads = vec![ThreadPlan {
        name: None,
        queue: Some("com.apple.main-thread".to_string()),
        frames: tframes(&crashed, &m),
    }];
    for _ in 0..3 {
        threads.push(ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(&openblas, &m),
        });
    }
    let process = Proc {
        name: "python3.12".to_string(),
        bundle_id: None,
        app_version: String::new(),
        build_version: String::new(),
        pid: 61207,
        parent: ("zsh".to_string(), 58833),
        responsible: ("Terminal".to_string(), 612),
        role: "Unspecified",
        coalition: "com.apple.Terminal".to_string(),
        signing_id: "python3.12".to_string(),
        team_id: String::new(),
    };
    assemble(
        CrashInput {
            machine: m,
            process,
            loaded: vec![Img::UvPython, Img::Numpy, Img::FastBlur],
            fix: None,
            threads,
            crashed: 0,
            fault: Fault::NullRead(0x10),
            capture,
            launch: capture - secs(3) - millis(412),
            written_delay: 4,
            label: "non-agx/numpy-extension-segv".to_string(),
            annotate: None,
        },
        rng,
    )
}

const APPKIT_MAIN_TAIL: &[F] = &[
    F(
        Img::CoreFoundation,
        "__CFRUNLOOP_IS_CALLING_OUT_TO_A_SOURCE0_PERFORM_FUNCTION__",
        28,
    ),
    F(Img::CoreFoundation, "__CFRunLoopDoSource0", 172),
    F(Img::CoreFoundation, "__CFRunLoopDoSources0", 232),
    F(Img::CoreFoundation, "__CFRunLoopRun", 840),
    F(Img::CoreFoundation, "CFRunLoopRunSpecific", 572),
    F(Img::HiToolbox, "RunCurrentEventLoopInMode", 324),
    F(Img::HiToolbox, "ReceiveNextEventCommon", 676),
    F(
        Img::HiToolbox,
        "_BlockUntilNextEventMatchingListInModeWithFilter",
        76,
    ),
    F(Img::AppKit, "_DPSNextEvent", 684),
    F(
        Img::AppKit,
        "-[NSApplication(NSEventRouting) _nextEventMatchingEventMask:untilDate:inMode:dequeue:]",
        688,
    ),
    F(Img::AppKit, "-[NSApplication run]", 480),
    F(Img::AppKit, "NSApplicationMain", 880),
];

const NS_EVENT_THREAD: &[F] = &[
    F(Img::Kernel, "mach_msg2_trap", 8),
    F(Img::Kernel, "mach_msg2_internal", 76),
    F(Img::Kernel, "mach_msg_overwrite", 484),
    F(Img::Kernel, "mach_msg", 24),
    F(Img::CoreFoundation, "__CFRunLoopServiceMachPort", 160),
    F(Img::CoreFoundation, "__CFRunLoopRun", 1208),
    F(Img::CoreFoundation, "CFRunLoopRunSpecific", 572),
    F(Img::AppKit, "_NSEventThread", 140),
    F(Img::Pthread, "_pthread_start", 136),
    F(Img::Pthread, "thread_start", 8),
];

fn app_process(name: &str, id: &str, short: &str, ver: &str, pid: u64) -> Proc {
    Proc {
        name: name.to_string(),
        bundle_id: Some(id.to_string()),
        app_version: short.to_string(),
        build_version: ver.to_string(),
        pid,
        parent: ("launchd".to_string(), 1),
        responsible: (name.to_string(), pid),
        role: "Foreground",
        coalition: id.to_string(),
        signing_id: id.to_string(),
        team_id: "EXAMPLE42Q".to_string(),
    }
}

/// A Swift app that calls `abort()` when its database cannot be opened. The AGX driver is
/// loaded (every AppKit app has it) but nowhere near the crash.
pub fn swift_abort_crash(rng: &mut Rng) -> Crash {
    let m = M4_MAX;
    let capture = local((2026, 11, 4), (8, 47, 12), -8) + millis(2215);
    let mut main = vec![
        F(Img::Kernel, "__pthread_kill", 8),
        F(Img::Pthread, "pthread_kill", 296),
        F(Img::LibC, "abort", 124),
        F(
            Img::LedgerSync,
            "closure #1 in LedgerStore.openDatabase(at:)",
            412,
        ),
        F(Img::LedgerSync, "LedgerStore.openDatabase(at:)", 1288),
        F(Img::LedgerSync, "LedgerStore.init(url:)", 236),
        F(
            Img::LedgerSync,
            "AppDelegate.applicationDidFinishLaunching(_:)",
            644,
        ),
        F(
            Img::LedgerSync,
            "@objc AppDelegate.applicationDidFinishLaunching(_:)",
            52,
        ),
        F(
            Img::CoreFoundation,
            "__CFNOTIFICATIONCENTER_IS_CALLING_OUT_TO_AN_OBSERVER__",
            148,
        ),
        F(
            Img::CoreFoundation,
            "___CFXRegistrationPost_block_invoke",
            88,
        ),
        F(Img::CoreFoundation, "_CFXRegistrationPost", 436),
        F(Img::CoreFoundation, "_CFXNotificationPost", 740),
        F(
            Img::Foundation,
            "-[NSNotificationCenter postNotificationName:object:userInfo:]",
            88,
        ),
        F(
            Img::AppKit,
            "-[NSApplication _postDidFinishNotification]",
            284,
        ),
        F(
            Img::AppKit,
            "-[NSApplication _sendFinishLaunchingNotification]",
            172,
        ),
    ];
    main.extend_from_slice(APPKIT_MAIN_TAIL);
    main.extend_from_slice(&[F(Img::LedgerSync, "main", 64), F(Img::Dyld, "start", 6076)]);
    let threads = vec![
        ThreadPlan {
            name: None,
            queue: Some("com.apple.main-thread".to_string()),
            frames: tframes(&main, &m),
        },
        ThreadPlan {
            name: Some("com.apple.NSEventThread".to_string()),
            queue: None,
            frames: tframes(NS_EVENT_THREAD, &m),
        },
        ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        },
    ];
    let process = app_process(
        "LedgerSync",
        "com.example.ledgersync",
        "2.4.1",
        "241",
        70311,
    );
    assemble(
        CrashInput {
            machine: m,
            process,
            loaded: vec![Img::LedgerSync, Img::Agx],
            fix: None,
            threads,
            crashed: 0,
            fault: Fault::Abort("libsystem_c.dylib", "abort() called"),
            capture,
            launch: capture - millis(1830),
            written_delay: 3,
            label: "non-agx/swift-abort".to_string(),
            annotate: None,
        },
        rng,
    )
}

/// objc_msgSend on a released view controller from AppKit code: the same top frame and the
/// same kind of PAC-failed address as the freed-encoder pattern, but no Metal anywhere in the
/// stack — a rule that names this `objc-msgsend-freed-encoder` is wrong.
pub fn appkit_uaf_crash(rng: &mut Rng) -> Crash {
    let m = M4_MAX;
    let capture = local((2026, 11, 4), (16, 3, 55), -8) + millis(8731);
    let main = vec![
        F(Img::LibObjc, "objc_msgSend", 56),
        F(
            Img::AppKit,
            "-[NSViewController _sendViewDidDisappear]",
            148,
        ),
        F(Img::AppKit, "-[NSView _setWindow:]", 2108),
        F(Img::AppKit, "-[NSView removeFromSuperview]", 164),
        F(
            Img::PixelNotes,
            "NoteCanvasController.closeInspector()",
            220,
        ),
        F(
            Img::PixelNotes,
            "@objc NoteCanvasController.closeInspector()",
            44,
        ),
        F(
            Img::AppKit,
            "-[NSApplication(NSResponder) sendAction:to:from:]",
            460,
        ),
        F(Img::AppKit, "-[NSControl sendAction:to:]", 88),
        F(
            Img::AppKit,
            "__26-[NSCell _sendActionFrom:]_block_invoke",
            116,
        ),
        F(Img::AppKit, "-[NSCell _sendActionFrom:]", 176),
        F(Img::AppKit, "-[NSButtonCell _sendActionFrom:]", 96),
        F(Img::AppKit, "NSControlTrackMouse", 1500),
        F(
            Img::AppKit,
            "-[NSCell trackMouse:inRect:ofView:untilMouseUp:]",
            124,
        ),
        F(
            Img::AppKit,
            "-[NSButtonCell trackMouse:inRect:ofView:untilMouseUp:]",
            612,
        ),
        F(Img::AppKit, "-[NSControl mouseDown:]", 448),
        F(
            Img::AppKit,
            "-[NSWindow(NSEventRouting) _handleMouseDownEvent:isDelayedEvent:]",
            4560,
        ),
        F(
            Img::AppKit,
            "-[NSWindow(NSEventRouting) _reallySendEvent:isDelayedEvent:]",
            404,
        ),
        F(Img::AppKit, "-[NSWindow(NSEventRouting) sendEvent:]", 284),
        F(
            Img::AppKit,
            "-[NSApplication(NSEventRouting) sendEvent:]",
            1656,
        ),
        F(Img::AppKit, "-[NSApplication run]", 632),
        F(Img::AppKit, "NSApplicationMain", 880),
        F(Img::PixelNotes, "main", 64),
        F(Img::Dyld, "start", 6076),
    ];
    let threads = vec![
        ThreadPlan {
            name: None,
            queue: Some("com.apple.main-thread".to_string()),
            frames: tframes(&main, &m),
        },
        ThreadPlan {
            name: Some("com.apple.NSEventThread".to_string()),
            queue: None,
            frames: tframes(NS_EVENT_THREAD, &m),
        },
        ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        },
        ThreadPlan {
            name: None,
            queue: None,
            frames: tframes(IDLE_WQ, &m),
        },
    ];
    let process = app_process("PixelNotes", "com.example.pixelnotes", "1.8", "1803", 73950);
    let signed = 0x0000_f12a_4c8e_1b30;
    assemble(
        CrashInput {
            machine: m,
            process,
            loaded: vec![Img::PixelNotes, Img::Agx],
            fix: None,
            threads,
            crashed: 0,
            fault: Fault::Pac(signed, signed & 0x0000_1fff_ffff_ffff),
            capture,
            launch: capture - secs(2417),
            written_delay: 2,
            label: "non-agx/appkit-objc-msgsend-uaf".to_string(),
            annotate: None,
        },
        rng,
    )
}

/// A GPU event (`bug_type` 284). Shape from public test fixtures of GPU-event handling: a JSON
/// header line without `app_name`, then a small JSON body naming the process (cut to 16
/// characters) and the firmware's analysis; no pid, no threads.
pub fn render_gpu_event(
    process: &str,
    written: &Local,
    label: &str,
    reason: (u64, &str),
) -> String {
    let header = obj(vec![
        ("bug_type", s("284")),
        ("timestamp", s(fmt_header(written))),
        ("os_version", s(OS_VERSION)),
        ("roots_installed", u(0)),
        ("incident_id", s(upper_uuid(&format!("gpu-event/{label}")))),
    ]);
    let name: String = process.chars().take(16).collect();
    let analysis = obj(vec![
        ("guilty_dm", u(3)),
        (
            "command_buffer_trace_id",
            u(1_400_000_000_000 + hash(label) % 9_000_000_000),
        ),
        ("signature", u(560 + hash(label) % 40)),
        ("restart_reason_desc", s(reason.1)),
        ("restart_reason", u(reason.0)),
    ]);
    let body = render_body(&[
        ("roots_installed", u(0), Sty::Line),
        ("bug_type", s("284"), Sty::Line),
        ("process_name", s(name), Sty::Line),
        ("registers", obj(vec![]), Sty::Line),
        ("timestamp", u(written.timestamp() as u64), Sty::Line),
        ("analysis", analysis, Sty::Line),
    ]);
    format!("{}\n{body}", header.to_compact(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash_of(pattern: &str, fix: Option<&'static str>, seed: u64) -> Crash {
        let capture = local((2026, 11, 2), (10, 15, 30), -8) + millis(1234);
        python_crash(
            PyCrash {
                pattern,
                ctx: Ctx::Gather,
                machine: M4_MAX,
                fix,
                capture,
                launch: capture - secs(60),
                pid: 4242,
                parent: ("bash", 4000),
                unsym: Unsym::None,
                label: format!("test/{pattern}"),
                variant: 0,
            },
            &mut Rng(seed),
        )
    }

    #[test]
    fn every_pattern_builds_a_report_with_its_top_frames_on_the_crashed_thread() {
        for p in PATTERNS {
            let crash = crash_of(p.id, Some("v2_4"), 7);
            let ips = render_ips(&crash);
            let (header, body) = ips.split_once('\n').unwrap();
            let header: serde_json::Value = serde_json::from_str(header).unwrap();
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!(header["incident_id"], body["incident"], "{}", p.id);
            let t = body["faultingThread"].as_u64().unwrap() as usize;
            let symbols: Vec<&str> = body["threads"][t]["frames"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f["symbol"].as_str())
                .collect();
            let first = family_symbol(p.top[0].1, &M4_MAX);
            assert!(symbols.contains(&first.as_str()), "{}: {symbols:?}", p.id);
            let signal = body["exception"]["signal"].as_str().unwrap();
            assert_eq!(signal == "SIGABRT", p.abort, "{}", p.id);
            // Every frame names an image that is listed.
            let n = body["usedImages"].as_array().unwrap().len() as u64;
            for th in body["threads"].as_array().unwrap() {
                for f in th["frames"].as_array().unwrap() {
                    assert!(f["imageIndex"].as_u64().unwrap() < n, "{}", p.id);
                }
            }
            let legacy = render_legacy(&crash);
            assert!(legacy.contains(&first), "{}", p.id);
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = render_ips(&crash_of("agx-null-impl-0x98", None, 1));
        assert_eq!(a, render_ips(&crash_of("agx-null-impl-0x98", None, 1)));
        assert_ne!(a, render_ips(&crash_of("agx-null-impl-0x98", None, 2)));
    }
}
