"""JUnit XML of a test report: one testcase per test and repeat, the target as properties."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    from ..services.runs import Comparison
    from ..services.tests import TestReport

# Characters XML 1.0 cannot carry at all (C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(s: str) -> str:
    return _NOT_XML.sub("\ufffd", s)


def junit_xml(report: TestReport, suite: str, comparison: Comparison | None = None,
              allow_noise: bool = False) -> str:
    """With a baseline ``comparison``, only regressions are failures; a test that was already failing in
    the baseline is reported as skipped, saying so."""
    cases = []
    failures = skipped = 0
    regressions = {r.test_id for r in comparison.regressions(allow_noise=allow_noise)} if comparison else set()
    verdicts = {r.test_id: r for r in comparison.rows} if comparison else {}
    for t in report.rows:
        for r in t.runs:
            name = f"{t.name} [run {r.run}]" if len(t.runs) > 1 else t.name
            body = ""
            if r.status == "failed" and comparison is not None and t.id not in regressions:
                skipped += 1
                v = verdicts.get(t.id)
                why = f"not a regression against the baseline {comparison.a.header.id}: {v.verdict if v else 'new'}"
                body = f"<skipped message={quoteattr(xml_safe(why))}/>"
            elif r.status == "failed":
                failures += 1
                body = (f"<failure message={quoteattr(xml_safe(t.condition))} type=\"AssertionError\">"
                        f"{escape(xml_safe(r.rationale))}</failure>")
            elif r.status in ("cancelled", "pending"):
                skipped += 1
                body = f"<skipped message={quoteattr(r.status)}/>"
            elif r.status != "passed":
                failures += 1
                body = f"<failure message={quoteattr(xml_safe('status ' + r.status))} type=\"UnknownStatus\"/>"
            cases.append(f"  <testcase classname={quoteattr(xml_safe(suite))} name={quoteattr(xml_safe(name))} "
                         f"time=\"0\">{body}</testcase>")
    target = report.target.describe()
    props = [("target", target["label"]), ("target.kind", target["kind"]), ("road", report.target.test_road),
             ("invocation_id", report.invocation_id), ("repeat", str(report.repeat)),
             ("min_pass_rate", str(report.min_pass_rate))]
    for k in ("branch_id", "branch_name", "version", "content_hash"):
        if target.get(k) is not None:
            props.append((f"target.{k}", str(target[k])))
    props += [("missing_test", m) for m in report.missing]
    if report.run_id:
        props.append(("run_id", report.run_id))
    if comparison is not None:
        props += [("baseline", comparison.a.header.id), ("baseline.target", comparison.a.header.target_label),
                  ("regressions", str(len(regressions)))]
    prop_xml = "".join(f"    <property name={quoteattr(k)} value={quoteattr(xml_safe(v))}/>\n" for k, v in props)
    return (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            f"<testsuite name={quoteattr(xml_safe(suite))} tests=\"{len(cases)}\" failures=\"{failures}\" "
            f"errors=\"0\" skipped=\"{skipped}\" time=\"{report.elapsed:.3f}\">\n"
            f"  <properties>\n{prop_xml}  </properties>\n" + "\n".join(cases) + "\n</testsuite>\n")


def write_junit(path: Path, report: TestReport, suite: str, *, comparison: Comparison | None = None,
                allow_noise: bool = False) -> None:
    from ..workspace.files import exclusive_output

    with exclusive_output(path) as f:
        f.write(junit_xml(report, suite, comparison, allow_noise))
