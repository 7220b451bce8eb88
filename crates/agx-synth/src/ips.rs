//! The `.ips` writer: a compact JSON header line, then the body with its keys in the order and
//! the printing styles macOS 15 uses (see [`crate::json`]).

use crate::json::{obj, render_body, s, u, Json, Style};
use crate::{Frame, Image, Report, Thread};

fn frame_json(f: &Frame) -> Json {
    let mut json = frame_fields(f);
    if let (Json::Obj(fields), Some((file, line))) = (&mut json, &f.source) {
        // macOS writes the source position between the offset and the symbol.
        fields.insert(1, ("sourceLine".to_string(), u(*line)));
        fields.insert(2, ("sourceFile".to_string(), s(file.clone())));
    }
    json
}

fn frame_fields(f: &Frame) -> Json {
    match &f.symbol {
        Some(sym) => obj(vec![
            ("imageOffset", u(f.offset)),
            ("symbol", s(sym.clone())),
            ("symbolLocation", u(f.location)),
            ("imageIndex", u(f.image as u64)),
        ]),
        None => obj(vec![
            ("imageOffset", u(f.offset)),
            ("imageIndex", u(f.image as u64)),
        ]),
    }
}

fn thread_json(t: &Thread, crashed: bool) -> Json {
    let mut fields = Vec::new();
    if crashed {
        fields.push(("triggered", Json::Bool(true)));
    }
    fields.push(("id", u(t.id)));
    if let Some(name) = &t.name {
        fields.push(("name", s(name.clone())));
    }
    if let Some(st) = &t.state {
        let x = Json::Arr(
            st.x.iter()
                .map(|r| match &r.symbol {
                    Some(name) => obj(vec![
                        ("value", u(r.value)),
                        ("symbolLocation", u(0)),
                        ("symbol", s(name.clone())),
                    ]),
                    None => obj(vec![("value", u(r.value))]),
                })
                .collect(),
        );
        let mut pc = vec![("value", u(st.pc))];
        if crashed {
            pc.push(("matchesCrashFrame", u(1)));
        }
        fields.push((
            "threadState",
            obj(vec![
                ("x", x),
                ("flavor", s("ARM_THREAD_STATE64")),
                ("lr", obj(vec![("value", u(st.lr))])),
                ("cpsr", obj(vec![("value", u(st.cpsr))])),
                ("fp", obj(vec![("value", u(st.fp))])),
                ("sp", obj(vec![("value", u(st.sp))])),
                (
                    "esr",
                    obj(vec![
                        ("value", u(st.esr.0)),
                        ("description", s(st.esr.1.clone())),
                    ]),
                ),
                ("pc", obj(pc)),
                ("far", obj(vec![("value", u(st.far))])),
            ]),
        ));
    }
    if let Some(q) = &t.queue {
        fields.push(("queue", s(q.clone())));
    }
    fields.push((
        "frames",
        Json::Arr(t.frames.iter().map(frame_json).collect()),
    ));
    obj(fields)
}

fn image_json(img: &Image) -> Json {
    let mut fields = vec![
        ("source", s(img.source.clone())),
        ("arch", s(img.arch.clone())),
        ("base", u(img.base)),
    ];
    if let Some(b) = &img.bundle {
        fields.push(("CFBundleShortVersionString", s(b.short_version.clone())));
        fields.push(("CFBundleIdentifier", s(b.id.clone())));
    }
    fields.push(("size", u(img.size)));
    fields.push(("uuid", s(img.uuid.clone())));
    fields.push(("path", s(img.path.clone())));
    fields.push(("name", s(img.name.clone())));
    if let Some(b) = &img.bundle {
        fields.push(("CFBundleVersion", s(b.version.clone())));
    }
    obj(fields)
}

/// The main executable's UUID, which macOS writes as the header's `slice_uuid`.
fn slice_uuid(r: &Report) -> String {
    r.images
        .first()
        .map(|i| i.uuid.clone())
        .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_string())
}

fn header_json(r: &Report) -> Json {
    let p = &r.process;
    let mut fields = vec![
        ("app_name", s(p.name.clone())),
        ("timestamp", s(r.timestamp.clone())),
        ("app_version", s(p.app_version.clone())),
        ("slice_uuid", s(slice_uuid(r))),
        ("build_version", s(p.build_version.clone())),
        ("platform", u(1)),
    ];
    if let Some(id) = &p.bundle_id {
        fields.push(("bundleID", s(id.clone())));
    }
    fields.extend(vec![
        ("share_with_app_devs", u(0)),
        ("is_first_party", u(0)),
        ("bug_type", s("309")),
        ("os_version", s(r.os.version())),
        ("roots_installed", u(0)),
        ("name", s(p.name.clone())),
        ("incident_id", s(r.incident.clone())),
    ]);
    obj(fields)
}

/// Rollouts as a macOS 15 machine lists them (the values carry no meaning for triage).
fn trial_info() -> Json {
    obj(vec![
        (
            "rollouts",
            Json::Arr(vec![
                obj(vec![
                    ("rolloutId", s("64b21a7351cbb02ce3a2d9a3")),
                    ("factorPackIds", obj(vec![])),
                    ("deploymentId", u(240_000_008)),
                ]),
                obj(vec![
                    ("rolloutId", s("6761d0c9df60af01adb250fb")),
                    (
                        "factorPackIds",
                        obj(vec![(
                            "SIRI_MEMORY_SYNC_CONFIG",
                            s("67c7823f1baae429bb41b88f"),
                        )]),
                    ),
                    ("deploymentId", u(240_000_011)),
                ]),
            ]),
        ),
        ("experiments", Json::Arr(vec![])),
    ])
}

pub(crate) fn render(r: &Report) -> String {
    let p = &r.process;
    let sys = &r.system;
    let mut f: Vec<(&str, Json, Style)> = vec![
        ("uptime", u(sys.uptime), Style::Line),
        ("procRole", s(p.role.clone()), Style::Line),
        ("version", u(2), Style::Line),
        ("userID", u(p.user_id), Style::Line),
        ("deployVersion", u(210), Style::Line),
        ("modelCode", s(r.hardware.model_code.clone()), Style::Line),
        ("coalitionID", u(p.coalition_id), Style::Line),
        (
            "osVersion",
            obj(vec![
                ("train", s(r.os.train.clone())),
                ("build", s(r.os.build.clone())),
                ("releaseType", s(r.os.release_type.clone())),
            ]),
            Style::Nested,
        ),
        ("captureTime", s(r.capture_time.clone()), Style::Line),
        ("codeSigningMonitor", u(1), Style::Line),
        ("incident", s(r.incident.clone()), Style::Line),
        ("pid", u(p.pid), Style::Line),
        ("translated", Json::Bool(false), Style::Line),
        ("cpuType", s(r.hardware.cpu_type.clone()), Style::Line),
        ("roots_installed", u(0), Style::Line),
        ("bug_type", s("309"), Style::Line),
        ("procLaunch", s(p.launch.clone()), Style::Line),
        ("procStartAbsTime", u(p.start_abs_time), Style::Line),
        ("procExitAbsTime", u(p.exit_abs_time), Style::Line),
        ("procName", s(p.name.clone()), Style::Line),
        ("procPath", s(p.path.clone()), Style::Line),
    ];
    if let Some(b) = &p.bundle {
        f.push((
            "bundleInfo",
            obj(vec![
                ("CFBundleShortVersionString", s(b.short_version.clone())),
                ("CFBundleVersion", s(b.version.clone())),
                ("CFBundleIdentifier", s(b.id.clone())),
            ]),
            Style::Line,
        ));
    }
    f.extend(vec![
        ("parentProc", s(p.parent.0.clone()), Style::Line),
        ("parentPid", u(p.parent.1), Style::Line),
        ("coalitionName", s(p.coalition_name.clone()), Style::Line),
        (
            "crashReporterKey",
            s(sys.crash_reporter_key.clone()),
            Style::Line,
        ),
        ("responsibleProc", s(p.responsible.0.clone()), Style::Line),
        ("codeSigningID", s(p.signing_id.clone()), Style::Line),
        ("codeSigningTeamID", s(p.team_id.clone()), Style::Line),
        ("codeSigningFlags", u(570_425_857), Style::Line),
        ("codeSigningValidationCategory", u(10), Style::Line),
        ("codeSigningTrustLevel", u(4_294_967_295), Style::Line),
        (
            "bootSessionUUID",
            s(sys.boot_session_uuid.clone()),
            Style::Line,
        ),
        ("wakeTime", u(sys.wake_time), Style::Line),
        ("sleepWakeUUID", s(sys.sleep_wake_uuid.clone()), Style::Line),
        ("sip", s("enabled"), Style::Line),
    ]);
    if let Some(v) = &r.vm_region_info {
        f.push(("vmRegionInfo", s(v.clone()), Style::Line));
    }
    let e = &r.exception;
    let mut exc = vec![
        (
            "codes",
            s(format!("0x{:016x}, 0x{:016x}", e.codes.0, e.codes.1)),
        ),
        ("rawCodes", Json::Arr(vec![u(e.codes.0), u(e.codes.1)])),
        ("type", s(e.exc_type.clone())),
        ("signal", s(e.signal.clone())),
    ];
    if let Some(sub) = &e.subtype {
        exc.push(("subtype", s(sub.clone())));
    }
    if let Some(m) = &e.message {
        exc.push(("message", s(m.clone())));
    }
    f.push(("exception", obj(exc), Style::Line));
    let t = &r.termination;
    f.push((
        "termination",
        obj(vec![
            ("flags", u(t.flags)),
            ("code", u(t.code)),
            ("namespace", s(t.namespace.clone())),
            ("indicator", s(t.indicator.clone())),
            ("byProc", s(t.by_proc.clone())),
            ("byPid", u(p.pid)),
        ]),
        Style::Line,
    ));
    if let Some((owner, messages)) = &r.asi {
        f.push((
            "asi",
            Json::Obj(vec![(
                owner.clone(),
                Json::Arr(messages.iter().map(|m| s(m.clone())).collect()),
            )]),
            Style::Line,
        ));
    }
    let zero = || {
        obj(vec![
            ("thread_create", u(0)),
            ("thread_set_state", u(0)),
            ("task_for_pid", u(0)),
        ])
    };
    f.push((
        "extMods",
        obj(vec![
            ("caller", zero()),
            (
                "system",
                obj(vec![
                    ("thread_create", u(0)),
                    ("thread_set_state", u(0)),
                    ("task_for_pid", u(sys.task_for_pid)),
                ]),
            ),
            ("targeted", zero()),
            ("warnings", u(0)),
        ]),
        Style::Line,
    ));
    if let Some(frames) = &r.last_exception_backtrace {
        f.push((
            "lastExceptionBacktrace",
            Json::Arr(frames.iter().map(frame_json).collect()),
            Style::Line,
        ));
    }
    f.push(("faultingThread", u(r.faulting_thread as u64), Style::Line));
    f.push((
        "threads",
        Json::Arr(
            r.threads
                .iter()
                .enumerate()
                .map(|(i, t)| thread_json(t, i == r.faulting_thread))
                .collect(),
        ),
        Style::Line,
    ));
    let mut images: Vec<Json> = r.images.iter().map(image_json).collect();
    if r.absolute_null_image {
        images.push(obj(vec![
            ("size", u(0)),
            ("source", s("A")),
            ("base", u(0)),
            ("uuid", s("00000000-0000-0000-0000-000000000000")),
        ]));
    }
    f.push(("usedImages", Json::Arr(images), Style::Detached));
    if let Some(c) = &r.shared_cache {
        f.push((
            "sharedCache",
            obj(vec![
                ("base", u(c.base)),
                ("size", u(c.size)),
                ("uuid", s(c.uuid.clone())),
            ]),
            Style::Detached,
        ));
    }
    if let Some(v) = &r.vm_summary {
        f.push(("vmSummary", s(v.clone()), Style::Line));
    }
    let triggered = r
        .threads
        .get(r.faulting_thread)
        .and_then(|t| t.queue.clone())
        .map(|q| obj(vec![("queue", s(q))]))
        .unwrap_or_else(|| obj(vec![]));
    f.push((
        "legacyInfo",
        obj(vec![("threadTriggered", triggered)]),
        Style::Detached,
    ));
    f.push((
        "logWritingSignature",
        s(sys.log_writing_signature.clone()),
        Style::Line,
    ));
    f.push(("trialInfo", trial_info(), Style::Detached));
    let mut out = header_json(r).to_compact(true);
    out.push('\n');
    out.push_str(&render_body(&f));
    out
}
