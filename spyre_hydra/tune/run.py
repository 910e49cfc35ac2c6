"""The tune over a sweep dir: read, judge, choose, report, write the profiles."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from spyre_hydra.sweep.points import varying_keys
from spyre_hydra.tune.select import (
    OBJECTIVES,
    Point,
    choose,
    closest,
    describe_miss,
    evaluate,
    points_of,
)
from spyre_hydra.tune.slo import NoPointMeetsError, Term, TuneError, slo_text


def read_points(sweep_dir: Path, terms: tuple[Term, ...]) -> list[Point]:
    """The sweep's points with their verdicts; TuneError when it is no bench sweep."""
    from spyre_hydra.sweep.results import read_manifest, read_result, result_files
    from spyre_hydra.tune.records import check_records

    if not sweep_dir.is_dir():
        raise TuneError(f"--from {str(sweep_dir)!r} is not a directory. Fix: pass the dir of "
                        "a finished spyre-launch -m ... mode=bench sweep.")
    files = result_files(sweep_dir)
    records = [read_result(path) for path in files]
    check_records(records, files, sweep_dir)
    if not records and read_manifest(sweep_dir) is None:
        raise TuneError(f"{sweep_dir} has no */result.json. Fix: pass the dir of a finished "
                        "spyre-launch -m ... mode=bench sweep (hydra.sweep.dir).")
    modes = {(r.get("plan") or {}).get("mode") for r in records} - {None}
    if modes and modes != {"bench"}:
        raise TuneError(f"{sweep_dir} is a mode={','.join(sorted(modes))} sweep; a tune reads "
                        "serving benchmarks. Fix: run the points with mode=bench.")
    return evaluate(points_of(records), terms)


def _model(points: list[Point]) -> str:
    options = sorted({p.plan["option"] for p in points if p.plan})
    if len(options) > 1:
        raise TuneError(f"the sweep measured several models ({', '.join(options)}); a profile "
                        "belongs to one. Fix: tune one model at a time (model=<option>).")
    if not options:
        raise TuneError("no point of the sweep has a plan (every job failed or was skipped). "
                        "Fix: look at the sweep's summary.md for the errors.")
    return options[0]


def tune(sweep_dir, terms: tuple[Term, ...], objectives=OBJECTIVES, out=None,
         config_dir=None, date: str | None = None) -> int:
    """Choose, report and (with `out`) write the profiles; returns the exit status."""
    from spyre_hydra.tune.profiles import profile_of, sweep_fingerprint
    from spyre_hydra.tune.report import write_report

    sweep_dir = Path(sweep_dir)
    points = read_points(sweep_dir, terms)
    option = _model(points)
    chosen = choose(points, objectives)
    varying = varying_keys([p.overrides for p in points])
    meet = sum(p.meets for p in points)
    sweep = {"dir": str(sweep_dir.resolve()), "fingerprint": sweep_fingerprint(sweep_dir)}
    notes = [f"SLO {slo_text(terms)} on every repeat (median and worst): {meet} of "
             f"{len(points)} points meet it",
             f"sweep {sweep['dir']} ({sweep['fingerprint']})"]
    for objective in objectives:
        point = chosen.get(objective)
        notes.append(f"{objective}: " + (f"job {point.job} ({point.label(varying)})" if point
                                         else "none (no point that meets the SLO has the "
                                         "figures it ranks by)" if meet else
                                         "no point meets the SLO"))
    missing = []
    near = None
    if not chosen:
        near = closest(points)
        missing.append("no point meets the SLO " + slo_text(terms) + "; " + (
            "closest: " + describe_miss(near, varying) if near else "no point was measured"))
    slo = slo_text(terms)
    profiles = {}
    if out is not None and chosen:  # built (and checked) before any file is written
        check_out(out)
        profiles = {obj: profile_of(p, obj, slo, sweep, _hf_id(p), date)
                    for obj, p in chosen.items()}
        check_profiles(profiles, chosen, sweep_dir, config_dir)
    written = write_report(sweep_dir, f"spyre-hydra tune: {option}", points, terms, chosen,
                           notes + missing)
    _print(points, chosen, varying, notes, written)
    if not chosen:
        raise NoPointMeetsError(missing[0] + ". Fix: relax the SLO (--slo), or add points "
                                "closer to it; tune.md lists every point's failing metric.")
    if out is None:
        print("no --out: profiles not written (--out CONF_DIR writes them)")
        return 0
    path, launch = _write(option, profiles, Path(out), config_dir)
    print(f"wrote profiles {', '.join(profiles)} of model {launch} to {path}")
    for name, profile in profiles.items():
        print(f"  spyre-launch --config-dir {out} model={launch} profile={name}"
              f"   # {profile['id']}")
    return 0


def _hf_id(point: Point) -> str:
    return str((point.plan or {}).get("model"))


def _write(option: str, profiles: dict[str, Any], out: Path, config_dir) -> tuple[Path, str]:
    """Write, then load the conf dir back: the profiles must come out as written."""
    from spyre_hydra.catalog.registry import get_model_registry, reset_registries
    from spyre_hydra.tune.profiles import write_profiles

    check_out(out)
    source = Path(get_model_registry(config_dir).get_model_config(option).files[-1])
    if out.is_dir():  # a conf dir that does not load already is named before any write
        reset_registries()
        get_model_registry(out)

    def verify(path: Path, launch: str) -> None:
        reset_registries()
        entry = get_model_registry(out).get_model_config(launch)
        lost = [n for n in profiles
                if (entry.profiles.get(n) or {}).get("id") != profiles[n]["id"]]
        if lost:
            raise TuneError(f"{path} was written but model={launch} in --config-dir {out} does "
                            f"not hold profiles {', '.join(lost)} as written, so it was put "
                            f"back as it was. Fix: check {out} for another {launch}.yaml "
                            "ranked before it.")

    try:
        return write_profiles(option, source, profiles, out, verify)
    finally:
        reset_registries()


def check_out(out) -> None:
    """--out must be a user conf dir: not in the shipped tree (nor reaching it through a
    symlinked model/), and a directory where it exists (checked before any sweep)."""
    from spyre_hydra.conftree.roots import shipped_conf_dir

    if out is None:
        return
    shipped, where = shipped_conf_dir().resolve(), Path(out)
    for path in (where, where / "model"):
        real = path.resolve()
        if real == shipped or real.is_relative_to(shipped):
            what = ("spyre_hydra's own shipped conf tree" if real == shipped else
                    f"inside spyre_hydra's own shipped conf tree {shipped}")
            raise TuneError(f"--out {out}: {path} is {what}; profiles belong in a user conf "
                            "dir. Fix: --out myconf (then spyre-launch --config-dir myconf "
                            "profile=<name>).")
        if path.exists() and not path.is_dir():
            raise TuneError(f"--out {out}: {path} exists and is not a directory; profiles go "
                            f"into {where / 'model'}/<model>.yaml. Fix: --out <a new or "
                            "existing conf dir>.")
        if not path.exists():
            break


def check_profiles(profiles: dict, chosen: dict, sweep_dir: Path, config_dir) -> None:
    """The profiles as profile= will read them (ProfileSpec, runtime, a device option
    here): a damaged record stops the tune before a file is written."""
    from spyre_hydra.catalog.validate import check_dataclass
    from spyre_hydra.conftree.schema import ProfileSpec
    from spyre_hydra.conftree.tree import ConfTree

    devices = ConfTree.at(config_dir).options("device")
    lines = []
    for name, profile in profiles.items():
        where = sweep_dir / str(chosen[name].job) / "result.json"
        found = [f"{p.key}: {p.message}" for p in check_dataclass(
            profile, ProfileSpec, f"profiles.{name}", lambda _k: "")]
        if profile.get("device") not in devices:
            found.append(f"device {profile.get('device')!r} is not a device option here "
                         f"(valid: {', '.join(devices)})")
        lines += [f"  - {name} (job {chosen[name].job}, {where}): {f}" for f in found]
    if lines:
        raise TuneError("the chosen points do not make valid profiles; nothing was written:\n"
                        + "\n".join(lines) + "\nFix: move those job dirs out of the sweep "
                        "dir and tune again (a sweep writes its result.json files itself).")


def _print(points, chosen, varying, notes, written) -> None:
    for p in points:
        mark = [m for m, c in chosen.items() if c is p]
        state = "meets the SLO" if p.meets else "misses: " + "; ".join(p.failures())
        print(f"job {p.job} ({p.label(varying)}): {state}" +
              (f"  <- {', '.join(mark)}" if mark else ""))
    for note in notes[2:]:
        print(note)
    print("report: " + ", ".join(str(w) for w in written))
    sys.stdout.flush()


__all__ = ["check_out", "check_profiles", "read_points", "tune"]
