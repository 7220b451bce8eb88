//! The Macs of the samples and the binary images their processes load: paths, sizes,
//! bundles, UUIDs, and where each sits in memory (shared-cache images at the machine's
//! slide, others at slid bases).

use super::*;

// ---------------------------------------------------------------------------------------------
// Machines and binary images
// ---------------------------------------------------------------------------------------------

pub(crate) const OS_TRAIN: &str = "macOS 15.6";
pub(crate) const OS_BUILD: &str = "24G84";
pub(crate) const OS_VERSION: &str = "macOS 15.6 (24G84)";
pub(crate) const AGX_VERSION: &str = "329.2";

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
    pub(crate) fn boot_time(&self) -> Local {
        let b = self.boot;
        local((b.0, b.1, b.2), (b.3, b.4, 0), b.5)
    }
    /// Where the dyld shared cache sits this boot (the slide differs per machine).
    pub(crate) fn cache_base(&self) -> u64 {
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
pub(crate) const CACHE_ORDER: &[Img] = &[
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

pub(crate) const PY_PREFIX: &str =
    "/opt/homebrew/Cellar/python@3.12/3.12.11/Frameworks/Python.framework/Versions/3.12";
pub(crate) const TORCH_LIB: &str =
    "/Users/alice/src/mps-stress/.venv/lib/python3.12/site-packages/torch/lib";
pub(crate) const UV_PYTHON: &str =
    "/Users/alice/.local/share/uv/python/cpython-3.12.11-macos-aarch64-none/bin/python3.12";
pub(crate) const IMGPROC_SITE: &str = "/Users/alice/src/imgproc/.venv/lib/python3.12/site-packages";

/// Where the fix dylib `libagx_fix_<fix>.dylib` is built (`fix` as `v2_4`).
pub fn fix_path(fix: &str) -> String {
    format!("/Users/alice/agx-fix/build/libagx_fix_{fix}.dylib")
}

pub(crate) fn bundle(id: &str, short: &str, ver: &str) -> Option<(String, String, String)> {
    Some((id.to_string(), short.to_string(), ver.to_string()))
}

pub(crate) fn image_spec(img: Img, m: &Machine, fix: Option<&str>) -> ImageSpec {
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

pub(crate) fn page_up(v: u64) -> u64 {
    (v + 0x3fff) & !0x3fff
}

/// Base address of a shared-cache image on this machine.
pub(crate) fn cache_image_base(img: Img, m: &Machine) -> u64 {
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
pub(crate) fn func_start(spec: &ImageSpec, symbol: &str) -> u64 {
    let span = (spec.size / 2).max(0x1000);
    (0x400 + hash(&format!("{}::{symbol}", spec.name)) % span) & !3
}
