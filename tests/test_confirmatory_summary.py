"""The confirmatory study's one-page summary and its copy in the docs (agents.confirmatory_summary)."""

from pathlib import Path

import pandas as pd
import pytest

from agents import confirmatory_summary as cs
from agents.__main__ import main
from agents.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
NAN = float("nan")


def _report(root: Path) -> Path:
    """The tables a report writes, constructed: claim 1 (aggregate, both statistics), one
    failed run, one interpretability test, one attention test and one grounding row."""
    (root / "interpret").mkdir(parents=True)
    pd.DataFrame(
        [
            {
                "arm": "idqn",
                "game": "MinAtar-Breakout",
                "seed": 0,
                "complete": True,
                "failed": False,
            },
            {
                "arm": "idqn",
                "game": "MinAtar-Breakout",
                "seed": 1,
                "complete": False,
                "failed": True,
            },
            {
                "arm": "ddqn",
                "game": "MinAtar-Breakout",
                "seed": 0,
                "complete": False,
                "failed": False,
            },
        ]
    ).assign(finished=[True, True, False]).to_csv(root / "runs.csv", index=False)
    pd.DataFrame(
        [
            {"group": "score claims", "arms": "ddqn, idqn", "finished": 50, "expected": 50},
            {"group": "attention agent", "arms": "attention", "finished": 3, "expected": 15},
        ]
    ).assign(read=[True, False]).to_csv(root / "reading.csv", index=False)
    test = {"claim": "1", "scope": "aggregate (IQM)", "a": "i-DQN", "b": "DDQN"}
    test |= {"kind": "non-inferiority", "margin": 0.2, "runs": "50/50"}
    pd.DataFrame(
        [
            test
            | {"statistic": "final_eval", "estimate": -0.0512, "lower": -0.1234, "upper": 0.0311}
            | {"detectable_margin_80": 0.1501, "p_improvement": 0.44, "p_improvement_low": 0.3}
            | {"p_improvement_high": 0.58, "verdict": "holds", "binding": True, "note": ""}
            | {"carries_claim": True},
            test
            | {"statistic": "train_last10", "estimate": -0.3, "lower": -0.5, "upper": -0.1}
            | {"verdict": "does not hold", "binding": False, "carries_claim": False}
            | {"note": "disagrees with the primary statistic (holds)"},
            test
            | {"claim": "Mott", "a": "attention agent", "b": "no-attention baseline"}
            | {"statistic": "final_eval", "estimate": 0.02, "lower": -0.1, "upper": 0.14}
            | {"verdict": "holds", "binding": True, "carries_claim": True},
        ]
    ).to_csv(root / "verdicts.csv", index=False)
    pd.DataFrame(
        [
            {"game": "MinAtar-Breakout", "arm": "i-DQN", "runs": "2/5"}
            | {"final_eval": 12.345, "final_eval_low": 10.0, "final_eval_high": 14.7}
            | {"train_last10": 9.5, "train_last10_low": 9.0, "train_last10_high": 10.25}
            | {"best_100": 11.0, "best_100_low": 10.5, "best_100_high": 11.5},
            {"game": "MinAtar-Breakout", "arm": "DDQN", "runs": "0/5"}
            | {"final_eval": NAN, "train_last10": NAN, "best_100": NAN},
        ]
    ).to_csv(root / "main.csv", index=False)
    pd.DataFrame(
        [{"test": "3: keys", "runs": "15/15", "estimate": 0.1, "lower": 0.05, "upper": 0.2}]
        + [{"test": "9: attention", "runs": "3/6", "verdict": "not yet (3 of 6 runs)"}]
    ).assign(
        threshold=[0.405, NAN], verdict=["holds", "not yet (3 of 6 runs)"], carries_claim=True
    ).to_csv(root / "interpret" / "verdicts.csv", index=False)
    pd.DataFrame(
        [
            {"game": "MinAtar-Breakout", "runs": "5/5", "ac_lambda_300k": 6.0, "mean": 5.0}
            | {"lower": 4.0, "upper": 6.5, "verdict": "holds"}
        ]
    ).to_csv(root / "attention-ac-lambda.csv", index=False)
    pd.DataFrame(
        [
            {"arm": "attention agent", "game": "MinAtar-Breakout", "runs": "5/5"}
            | {"seeds_above_random": "5/5", "every_seed_above_random": True},
            {"arm": "attention agent", "game": "at least 4 of 5 games"}
            | {"verdict": "does not hold (1 of 5 games)"},
        ]
    ).to_csv(root / "attention-above-random.csv", index=False)
    pd.DataFrame(
        [
            {"map": "DDQN, saliency of Q(s, a*)", "game": "MinAtar-Breakout", "seeds": 3}
            | {"status": "measured", "share": 0.3, "share_low": 0.25, "share_high": 0.35}
            | {"occupancy": 0.05, "share_over_occupancy": 6.0},
            {"map": "i-DQN, saliency of Q(s, a*)", "game": "MinAtar-Breakout", "seeds": 2}
            | {"status": "not testable (s2 failed: non-finite)", "share": NAN}
            | {"occupancy": NAN, "share_over_occupancy": NAN},
        ]
    ).to_csv(root / "interpret" / "grounding.csv", index=False)
    return root


def test_the_summary_quotes_the_reports_tables(tmp_path):
    body = cs.summary_body(_report(tmp_path / "report"))
    assert "2 of 3 runs finished; 1 failed on a non-finite loss" in body
    assert "i-DQN MinAtar-Breakout s1" in body
    groups = [line.replace(" ", "") for line in body.splitlines()]
    assert "|scoreclaims|ddqn,idqn|50/50|yes|" in groups
    assert "|attentionagent|attention|3/15|withheld|" in groups
    score = next(line for line in body.splitlines() if line.startswith("| 1 "))
    cells = [cell.strip() for cell in score.strip("|").split("|")]
    assert cells == [
        "1",
        "yes",
        "i-DQN vs DDQN, non-inferiority (margin 0.20)",
        "aggregate (IQM)",
        "50/50",
        "-0.051 [-0.123, 0.031]",
        "0.150",
        "0.440 [0.300, 0.580]",
        "holds",
        "does not hold",  # the secondary statistic's, beside the binding one
    ]
    assert sum(line.startswith("| 1 ") for line in body.splitlines()) == 1  # binding rows only
    sections = cs.sections_of(body)
    mott = [line for line in body.splitlines() if line.startswith("| Mott ")]
    assert len(mott) == 1 and mott[0] in sections["mott"] and "| Mott " not in sections["scores"]
    assert "0.020 [-0.100, 0.140]" in mott[0] and "attention agent vs no-attention" in mott[0]
    main_rows = [line for line in body.splitlines() if line.startswith("| MinAtar-Breakout |")]
    assert [cell.strip() for cell in main_rows[0].strip("|").split("|")] == [
        "MinAtar-Breakout",
        "i-DQN",
        "2/5",
        "12.345 [10.000, 14.700]",
        "9.500 [9.000, 10.250]",
        "11.000 [10.500, 11.500]",
    ]
    assert main_rows[1].replace(" ", "") == "|MinAtar-Breakout|DDQN|0/5||||"
    assert cs.MULTIPLICITY in sections["runs"] and "17 claim verdicts" in sections["mott"]
    assert "![IQMs and performance profiles](aggregate.png)" in body
    assert "(attention-curves.png)" in body and "(interpret/grounding.png)" in body
    claim3 = next(line for line in body.splitlines() if line.startswith("| 3: keys"))
    assert "0.100 [0.050, 0.200]" in claim3 and claim3.replace(" ", "").startswith("|3:keys|yes|")
    assert "not yet (3 of 6 runs)" in body
    assert "does not hold (1 of 5 games)" in body and "5.000 [4.000, 6.500]" in body
    assert "0.300 [0.250, 0.350]" in body and "not testable (s2 failed: non-finite)" in body


def test_a_missing_table_is_a_clear_error(tmp_path):
    report = _report(tmp_path / "report")
    (report / "main.csv").unlink()
    with pytest.raises(UsageError, match="main.csv does not exist: build the report first"):
        cs.summary_body(report)


def test_blocks_carry_the_whole_summary_or_the_sections_they_name(tmp_path):
    body = cs.summary_body(_report(tmp_path / "report"))
    assert list(cs.sections_of(body)) == sorted(
        cs.SECTIONS, key=lambda n: body.index(cs.SECTIONS[n])
    )
    document = (
        f"# Reproduction\n{cs.BEGIN}\nold\n{cs.END}\n# Learning\n"
        f"{cs.BEGIN_SECTIONS.format('attention, grounding')}\nold\n{cs.END}\nend\n"
    )
    embedded = cs.embed(document, body, "../reports/confirmatory")
    whole, named = embedded.split("# Learning")
    assert cs.SECTIONS["scores"] in whole and "(../reports/confirmatory/verdicts.png)" in whole
    assert cs.SECTIONS["attention"] in named and cs.SECTIONS["grounding"] in named
    assert cs.SECTIONS["scores"] not in named and named.endswith(f"{cs.END}\nend\n")
    assert "(../reports/confirmatory/interpret/grounding.png)" in named
    assert cs.embed(embedded, body, "../reports/confirmatory") == embedded  # idempotent
    placeholder = cs.embed(document, cs.PLACEHOLDER)
    assert placeholder.count(cs.PLACEHOLDER) == 2
    with pytest.raises(UsageError, match="unknown summary section 'scorez'"):
        cs.embed(f"{cs.BEGIN_SECTIONS.format('scorez')}\n{cs.END}\n", body)
    with pytest.raises(UsageError, match="lacks a section"):
        cs.embed(f"{cs.BEGIN_SECTIONS.format('main')}\n{cs.END}\n", "no sections here")


def test_links_point_from_the_document_to_the_report(tmp_path):
    doc, report = tmp_path / "docs" / "reproduction.md", tmp_path / "reports" / "confirmatory"
    assert cs.report_from(doc, report) == "../reports/confirmatory"
    assert cs.relink("![a](x.png) [b](https://e.org) [c](#here)", "../r") == (
        "![a](../r/x.png) [b](https://e.org) [c](#here)"
    )
    assert cs.relink("[d](HTTPS://e.org) [e](C:\\x.png) [f](/abs.png)", "../r") == (
        "[d](HTTPS://e.org) [e](C:\\x.png) [f](/abs.png)"
    )


def test_a_study_without_mott_arms_says_so():
    assert "Not in this study" in cs.mott_section(pd.DataFrame(columns=["claim", "binding"]))


def test_embed_replaces_the_block_only():
    document = f"intro\n{cs.BEGIN}\nold\n{cs.END}\noutro\n"
    assert cs.embed(document, "new\n") == f"intro\n{cs.BEGIN}\nnew\n{cs.END}\noutro\n"
    for broken in ("no markers", f"{cs.END}\n{cs.BEGIN}\n", f"{cs.BEGIN}\n{cs.BEGIN}\n{cs.END}"):
        with pytest.raises(UsageError, match="needs blocks of one begin line"):
            cs.embed(broken, "new")


def test_the_command_writes_then_checks_a_documents_block(tmp_path, capsys):
    report = tmp_path / "report"
    doc = tmp_path / "doc.md"
    doc.write_text(f"# Doc\n{cs.BEGIN}\n{cs.PLACEHOLDER}\n{cs.END}\n")
    args = ["confirmatory-summary", "--report", str(report), "--doc", str(doc)]
    report.mkdir()
    assert main([*args, "--check"]) == 0  # not built yet: the placeholder is current
    cs.write_summary(_report(report))
    assert main([*args, "--check"]) == 1
    assert "is not" in capsys.readouterr().err
    before = doc.read_text()
    assert main(args) == 0
    assert doc.read_text() != before and "holds" in doc.read_text()
    assert main([*args, "--check"]) == 0
    assert main(["confirmatory-summary", "--report", str(report), "--doc", "nope.md"]) == 2
    before_typo = doc.read_text()  # a mistyped report folder never writes the placeholder
    assert (
        main(["confirmatory-summary", "--report", str(tmp_path / "reprot"), "--doc", str(doc)]) == 2
    )
    assert doc.read_text() == before_typo
    second = tmp_path / "second.md"
    second.write_text(f"{cs.BEGIN_SECTIONS.format('attention')}\nold\n{cs.END}\n")
    written = doc.read_text()
    assert main([*args, str(second), "nope.md"]) == 2  # every document checked before any write
    assert doc.read_text() == written and "old" in second.read_text()
    assert main([*args, str(second)]) == 0 and cs.SECTIONS["attention"] in second.read_text()
    assert main([*args, str(second), "--check"]) == 0
    (report / "summary.md").unlink()  # a built report without its summary: refused
    assert main(args) == 2
    assert "no summary.md" in capsys.readouterr().err


def test_the_docs_carry_the_committed_reports_summary():
    """docs/reproduction.md's block is reports/confirmatory/summary.md's body, or the
    placeholder while the report is not built; and that summary is its tables'."""
    report = ROOT / "reports" / "confirmatory"
    doc = (ROOT / "docs" / "reproduction.md").read_text()
    # A built report always has its summary (expected_body refuses verdicts.csv without one).
    assert cs.embed(doc, cs.expected_body(report), "../reports/confirmatory") == doc
    learning = (ROOT / "docs" / "learning.md").read_text()
    assert cs.BEGIN_SECTIONS.format("mott, attention") in learning  # issue 25's table and verdict
    assert cs.embed(learning, cs.expected_body(report), "../reports/confirmatory") == learning
    if (report / "summary.md").is_file():
        assert (report / "summary.md").read_text() == cs.TITLE + cs.summary_body(report)
