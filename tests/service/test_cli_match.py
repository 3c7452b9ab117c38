"""`coffeerounds match`: offline matching from CSV files, with clear errors for bad input."""

from __future__ import annotations

import csv
from itertools import combinations
from pathlib import Path

from typer.testing import CliRunner

import matching
from service.cli import app

runner = CliRunner()


def write_cohort(path: Path, n: int, seed: int = 0) -> list[dict[str, str]]:
    rows = matching.make_hospital_cohort(n, random_state=seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def read_groups(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["match", *args])
    return result.exit_code, result.output


def test_everyone_is_placed_once_in_groups_of_three_or_four(tmp_path: Path) -> None:
    rows = write_cohort(tmp_path / "people.csv", 30)
    code, output = run(
        str(tmp_path / "people.csv"),
        "--out",
        str(tmp_path / "groups.csv"),
        "--month",
        "2026-12",
        "--time-limit",
        "2",
    )
    assert code == 0, output
    groups = read_groups(tmp_path / "groups.csv")
    assert list(groups[0]) == ["group", "email", "topic", "reason"]
    assert sorted(g["email"] for g in groups) == sorted(r["email"] for r in rows)
    sizes: dict[str, int] = {}
    for g in groups:
        sizes[g["group"]] = sizes.get(g["group"], 0) + 1
        assert g["topic"] and g["reason"]
    assert set(sizes.values()) <= {3, 4}
    assert "participants:" in output and "groups without a common time" in output


def test_feeding_groups_back_as_history_avoids_repeats(tmp_path: Path) -> None:
    write_cohort(tmp_path / "people.csv", 24, seed=2)
    history = tmp_path / "history.csv"
    seen_pairs: set[frozenset[str]] = set()
    with history.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(["round", "group", "email", "topic", "reason"])
    for month in ("2026-10", "2026-11", "2026-12"):
        out = tmp_path / f"{month}.csv"
        code, output = run(
            str(tmp_path / "people.csv"),
            "--history",
            str(history),
            "--out",
            str(out),
            "--month",
            month,
            "--time-limit",
            "2",
        )
        assert code == 0, output
        groups = read_groups(out)
        by_group: dict[str, list[str]] = {}
        for g in groups:
            by_group.setdefault(g["group"], []).append(g["email"])
        for members in by_group.values():
            for pair in combinations(members, 2):
                assert frozenset(pair) not in seen_pairs, f"repeat in {month}: {pair}"
                seen_pairs.add(frozenset(pair))
        with history.open("a", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            for g in groups:
                writer.writerow([month, g["group"], g["email"], g["topic"], g["reason"]])


def test_a_bad_row_is_reported_with_file_line_and_reason_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    people = tmp_path / "people.csv"
    write_cohort(people, 6)
    lines = people.read_text(encoding="utf-8").splitlines()
    fields = next(csv.reader([lines[3]]))
    fields[11] = "Mars/Olympus_Mons"
    lines[3] = ",".join(f'"{f}"' for f in fields)
    people.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "groups.csv"
    code, output = run(str(people), "--out", str(out))
    assert code == 2
    assert "people.csv" in output and "line 4" in output and "time zone" in output
    assert "Traceback" not in output
    assert not out.exists()


def test_missing_file_wrong_header_and_bad_month_exit_2(tmp_path: Path) -> None:
    out = str(tmp_path / "g.csv")
    code, output = run(str(tmp_path / "nope.csv"), "--out", out)
    assert code == 2 and "cannot read" in output
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nA,a@x.org\n", encoding="utf-8")
    code, output = run(str(bad), "--out", out)
    assert code == 2 and "line 1" in output
    people = tmp_path / "people.csv"
    write_cohort(people, 6)
    code, output = run(str(people), "--out", out, "--month", "2026-13")
    assert code == 2 and "2026-13" in output
    history = tmp_path / "h.csv"
    history.write_text("round,group,email,topic,reason\nlast month,1,a@x.org,,\n", encoding="utf-8")
    code, output = run(str(people), "--out", out, "--history", str(history))
    assert code == 2 and "h.csv: line 2" in output
    assert not Path(out).exists()


def test_fewer_than_three_people_are_all_reported_not_placed(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    write_cohort(people, 2)
    out = tmp_path / "groups.csv"
    code, output = run(str(people), "--out", str(out))
    assert code == 0, output
    groups = read_groups(out)
    assert [g["group"] for g in groups] == ["", ""]
    assert all(g["reason"] == "not placed this month" for g in groups)


def test_history_with_unknown_emails_is_ignored_with_a_warning(tmp_path: Path) -> None:
    people = tmp_path / "people.csv"
    write_cohort(people, 8)
    history = tmp_path / "h.csv"
    history.write_text(
        "round,group,email,topic,reason\n2026-11,1,gone@elsewhere.org,,\n2026-11,1,left@elsewhere.org,,\n",
        encoding="utf-8",
    )
    code, output = run(str(people), "--out", str(tmp_path / "g.csv"), "--history", str(history))
    assert code == 0, output
    assert "warning" in output.lower()
