//! Fill (or, forced, replace) frame names of a [`CrashReport`] from a symbol store.
//!
//! Which frames are return addresses. The top frame of every thread is that thread's pc when the
//! report was taken (the crashing instruction on the crashed thread, the suspended instruction on
//! the others): looked up as is. Every other frame, and every frame of the last exception
//! backtrace (captured by `backtrace()` inside the exception machinery, so even its frame 0 is
//! where a call returns to), is a return address and is looked up one instruction earlier. This
//! is symbolic's rule (`InstructionInfo`: "must not be applied to frame #0 on any thread").
//!
//! The slice is chosen by the UUID the report lists for the frame's image, never by the
//! report's architecture or a position in a fat file.

use serde::Serialize;

use super::store::Lookup;
use super::SymbolProvider;
use crate::crash::{CrashReport, Frame, SymbolSource};

/// Which backtrace of a report a frame is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StackRef {
    /// `threads[i]` (the index into [`CrashReport::threads`]).
    Thread(usize),
    /// `lastExceptionBacktrace`.
    LastExceptionBacktrace,
}

/// One frame of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct FrameRef {
    /// The stack the frame is on: a thread or the last exception backtrace.
    pub thread: StackRef,
    /// The frame's index on that stack (0 is the innermost).
    pub frame: usize,
}

/// A frame where macOS wrote one name and the store gives another (only with `force`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// The stack the frame is on: a thread or the last exception backtrace.
    pub thread: StackRef,
    /// The frame's index on that stack (0 is the innermost).
    pub frame: usize,
    /// The name as written in the report.
    pub apple: String,
    /// The name from the store (now in the frame).
    pub ours: String,
}

/// What [`symbolicate_report`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SymbolicateSummary {
    /// Frames that had no name (or one from an earlier symbolication) and now have ours.
    pub filled: usize,
    /// Frames whose Apple-written name was replaced (only with `force`), agreeing or not.
    pub replaced: usize,
    /// Replaced frames whose Apple name differs from ours.
    pub disagreements: Vec<Disagreement>,
    /// Frames whose image has no UUID or a UUID not in the store; left as they are.
    pub unknown_uuid: usize,
    /// UUIDs (lowercase, dashed) of those images, each once, in report order.
    pub unknown_uuids: Vec<String>,
    /// Frames whose image is in the store but whose offset no symbol covers; left as they are.
    pub outside_symbols: usize,
    /// Where those frames are.
    pub outside: Vec<FrameRef>,
    /// Frames whose image is indexed but whose symcache could not be read.
    pub broken: usize,
}

/// Fill missing frame names in every thread and in the last exception backtrace from `store`.
/// With `force`, also replace the names macOS wrote, and list where they differ. Frames whose
/// image is unknown to the store, or whose offset no symbol covers, are left untouched and
/// counted.
pub fn symbolicate_report<S: SymbolProvider + ?Sized>(
    report: &mut CrashReport,
    store: &S,
    force: bool,
) -> SymbolicateSummary {
    symbolicate(report, store, force, false)
}

/// Like [`symbolicate_report`], but only the crashed thread and the last exception backtrace:
/// the stacks the database keeps as frame rows and signatures are built from. Ingest and the
/// `symbolicate` command use this, so no time goes into names that would not be stored and
/// the counts speak of what is written.
pub fn symbolicate_crashed<S: SymbolProvider + ?Sized>(
    report: &mut CrashReport,
    store: &S,
    force: bool,
) -> SymbolicateSummary {
    symbolicate(report, store, force, true)
}

fn symbolicate<S: SymbolProvider + ?Sized>(
    report: &mut CrashReport,
    store: &S,
    force: bool,
    crashed_only: bool,
) -> SymbolicateSummary {
    let mut summary = SymbolicateSummary::default();
    // Image UUIDs by image index, looked up once (frames borrow `threads` mutably below).
    let uuids: Vec<Option<String>> = report.images.iter().map(|i| i.uuid.clone()).collect();
    let crashed = report.crashed_thread;

    for (t, thread) in report.threads.iter_mut().enumerate() {
        if crashed_only && Some(t) != crashed {
            continue;
        }
        for (f, frame) in thread.frames.iter_mut().enumerate() {
            let at = FrameRef {
                thread: StackRef::Thread(t),
                frame: f,
            };
            symbolicate_frame(frame, at, f == 0, &uuids, store, force, &mut summary);
        }
    }
    for (f, frame) in report.last_exception_backtrace.iter_mut().enumerate() {
        let at = FrameRef {
            thread: StackRef::LastExceptionBacktrace,
            frame: f,
        };
        symbolicate_frame(frame, at, false, &uuids, store, force, &mut summary);
    }
    summary
}

fn symbolicate_frame<S: SymbolProvider + ?Sized>(
    frame: &mut Frame,
    at: FrameRef,
    is_top_frame: bool,
    uuids: &[Option<String>],
    store: &S,
    force: bool,
    summary: &mut SymbolicateSummary,
) {
    let (Some(image_index), Some(offset)) = (frame.image_index, frame.image_offset) else {
        // An address-only frame with no image: nothing to key a lookup on.
        return;
    };
    let apple_name = match (&frame.symbol, frame.symbol_source) {
        (Some(name), Some(SymbolSource::Apple) | None) => Some(name.clone()),
        _ => None,
    };
    if apple_name.is_some() && !force {
        return;
    }
    let Some(uuid) = uuids.get(image_index).cloned().flatten() else {
        summary.unknown_uuid += 1;
        return;
    };
    match store.lookup(&uuid, offset, is_top_frame) {
        Lookup::Found {
            symbol,
            symbol_offset,
            source_file,
            source_line,
        } => {
            match apple_name {
                Some(apple) => {
                    summary.replaced += 1;
                    if apple != symbol {
                        summary.disagreements.push(Disagreement {
                            thread: at.thread,
                            frame: at.frame,
                            apple,
                            ours: symbol.clone(),
                        });
                    }
                }
                None => summary.filled += 1,
            }
            frame.symbol = Some(symbol);
            frame.symbol_offset = Some(symbol_offset);
            frame.source_file = source_file;
            frame.source_line = source_line;
            frame.symbol_source = Some(SymbolSource::Symcache);
        }
        Lookup::OutsideSymbols => {
            summary.outside_symbols += 1;
            summary.outside.push(at);
        }
        Lookup::UnknownUuid => {
            summary.unknown_uuid += 1;
            if !summary.unknown_uuids.contains(&uuid) {
                summary.unknown_uuids.push(uuid);
            }
        }
        Lookup::Broken { .. } => summary.broken += 1,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::crash::{Image, ReportKind, SourceFormat, Thread};

    const AGX: &str = "2f5ccac7-cf4f-3f87-8689-7c673e90e595";
    const METAL: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    /// A provider that knows one image with two functions, and records every lookup.
    struct Fake {
        calls: RefCell<Vec<(String, u64, bool)>>,
    }

    impl SymbolProvider for Fake {
        fn lookup(&self, uuid: &str, offset: u64, crashing: bool) -> Lookup {
            self.calls
                .borrow_mut()
                .push((uuid.to_string(), offset, crashing));
            if uuid != AGX {
                return Lookup::UnknownUuid;
            }
            let (symbol, start) = match offset {
                0x1000..=0x1fff => (
                    "AGX::ComputeContext<AGX::G16>::prepareForEnqueue(bool)",
                    0x1000,
                ),
                0x2000..=0x2fff => (
                    "-[AGXG16XFamilyComputeContext setComputePipelineState:]",
                    0x2000,
                ),
                _ => return Lookup::OutsideSymbols,
            };
            Lookup::Found {
                symbol: symbol.to_string(),
                symbol_offset: offset - start,
                source_file: None,
                source_line: None,
            }
        }
    }

    fn frame(image: usize, offset: u64, symbol: Option<&str>) -> Frame {
        Frame {
            image_index: Some(image),
            image_offset: Some(offset),
            symbol: symbol.map(str::to_string),
            symbol_offset: symbol.map(|_| 4),
            symbol_source: symbol.map(|_| SymbolSource::Apple),
            ..Frame::default()
        }
    }

    fn report() -> CrashReport {
        let mut r = CrashReport::empty(ReportKind::Crash, SourceFormat::Ips);
        r.images = vec![
            Image {
                uuid: Some(AGX.into()),
                name: Some("AGXMetalG16X".into()),
                ..Image::default()
            },
            Image {
                uuid: Some(METAL.into()),
                name: Some("Metal".into()),
                ..Image::default()
            },
            Image::default(),
        ];
        r.crashed_thread = Some(1);
        r.threads = vec![
            Thread {
                index: 0,
                frames: vec![frame(0, 0x2010, None), frame(0, 0x1010, None)],
                ..Thread::default()
            },
            Thread {
                index: 1,
                crashed: true,
                frames: vec![
                    frame(0, 0x1040, None),
                    frame(0, 0x2020, Some("-[AGXG16XFamilyComputeContext wrongGuess]")),
                    frame(1, 0x500, None),
                    frame(0, 0x9000, None),
                    frame(2, 0x10, None),
                    Frame {
                        address: Some(0x1234),
                        ..Frame::default()
                    },
                ],
                ..Thread::default()
            },
        ];
        r.last_exception_backtrace = vec![frame(0, 0x1008, None)];
        r
    }

    #[test]
    fn fills_missing_names_and_keeps_apple_names_without_force() {
        let fake = Fake {
            calls: RefCell::new(Vec::new()),
        };
        let mut r = report();
        let s = symbolicate_report(&mut r, &fake, false);
        assert_eq!(s.filled, 4);
        assert_eq!(s.replaced, 0);
        assert_eq!(s.unknown_uuid, 2, "Metal's UUID and the image without one");
        assert_eq!(s.unknown_uuids, vec![METAL.to_string()]);
        assert_eq!(s.outside_symbols, 1);
        assert_eq!(
            s.outside,
            vec![FrameRef {
                thread: StackRef::Thread(1),
                frame: 3
            }]
        );
        let crashed = &r.threads[1].frames;
        assert_eq!(
            crashed[0].symbol.as_deref(),
            Some("AGX::ComputeContext<AGX::G16>::prepareForEnqueue(bool)")
        );
        assert_eq!(crashed[0].symbol_offset, Some(0x40));
        assert_eq!(crashed[0].symbol_source, Some(SymbolSource::Symcache));
        // The Apple name stays, untouched and not even looked up.
        assert_eq!(
            crashed[1].symbol.as_deref(),
            Some("-[AGXG16XFamilyComputeContext wrongGuess]")
        );
        assert_eq!(crashed[1].symbol_source, Some(SymbolSource::Apple));
        assert_eq!(crashed[3].symbol, None);
        assert_eq!(r.last_exception_backtrace[0].symbol_offset, Some(8));

        // Top frames of every thread are looked up as the pc; the rest as return addresses.
        let calls = fake.calls.borrow();
        let crashing: Vec<(u64, bool)> = calls.iter().map(|(_, o, c)| (*o, *c)).collect();
        assert_eq!(
            crashing,
            vec![
                (0x2010, true),
                (0x1010, false),
                (0x1040, true),
                (0x500, false),
                (0x9000, false),
                (0x1008, false),
            ]
        );
    }

    #[test]
    fn crashed_only_leaves_other_threads_alone() {
        let fake = Fake {
            calls: RefCell::new(Vec::new()),
        };
        let mut r = report();
        let s = symbolicate_crashed(&mut r, &fake, false);
        // Thread 0's two unnamed frames are neither looked up nor named.
        assert_eq!(s.filled, 2, "crashed frame 0 and the exception backtrace");
        assert!(r.threads[0].frames.iter().all(|f| f.symbol.is_none()));
        assert!(r.threads[1].frames[0].symbol.is_some());
        assert!(r.last_exception_backtrace[0].symbol.is_some());
        let offsets: Vec<u64> = fake.calls.borrow().iter().map(|c| c.1).collect();
        assert_eq!(offsets, vec![0x1040, 0x500, 0x9000, 0x1008]);
    }

    #[test]
    fn force_replaces_and_reports_disagreements() {
        let fake = Fake {
            calls: RefCell::new(Vec::new()),
        };
        let mut r = report();
        let s = symbolicate_report(&mut r, &fake, true);
        assert_eq!(s.replaced, 1);
        assert_eq!(
            s.disagreements,
            vec![Disagreement {
                thread: StackRef::Thread(1),
                frame: 1,
                apple: "-[AGXG16XFamilyComputeContext wrongGuess]".into(),
                ours: "-[AGXG16XFamilyComputeContext setComputePipelineState:]".into(),
            }]
        );
        assert_eq!(r.threads[1].frames[1].symbol_offset, Some(0x20));
        assert_eq!(
            r.threads[1].frames[1].symbol_source,
            Some(SymbolSource::Symcache)
        );

        // A second run re-fills our own names (counted as filled) and finds no Apple names left.
        let again = symbolicate_report(&mut r, &fake, false);
        assert_eq!(again.filled, 5);
        assert_eq!(again.replaced, 0);
    }
}
