"""Problems found in a scenario or a plan, as values a clerk can act on.

A :class:`Finding` names the file, the feature id and the field it concerns, the rule it
applies (R-number) where there is one, and a message code. The text is rendered from the
catalogue in :mod:`planner.messages` in Vietnamese (default) or English, so tests and scripts
match on codes and ids, and people read sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Iterable, Literal, Mapping

from planner.messages import render

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    """One error or warning about one feature of one file."""

    severity: Severity
    code: str
    file: str = ""
    feature_id: str = ""
    field: str = ""
    rule: str = ""
    params: Mapping[str, Any] = dc_field(default_factory=dict)

    def message(self, lang: str = "vi") -> str:
        return render(self.code, lang, self.params)

    def location(self) -> str:
        parts = [p for p in (self.file, self.feature_id, self.field) if p]
        return ":".join(parts)

    def format(self, lang: str = "vi") -> str:
        label = {"vi": {"error": "LỖI", "warning": "CẢNH BÁO"},
                 "en": {"error": "ERROR", "warning": "WARNING"}}[lang][self.severity]
        rule = f" [{self.rule}]" if self.rule else ""
        loc = self.location()
        loc = f" {loc}:" if loc else ""
        return f"{label}{rule}{loc} {self.message(lang)}"

    def to_dict(self, lang: str = "vi") -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "rule": self.rule,
            "file": self.file,
            "feature_id": self.feature_id,
            "field": self.field,
            "message": self.message(lang),
            "message_vi": self.message("vi"),
            "message_en": self.message("en"),
        }


def error(code: str, *, file: str = "", feature_id: object = "", field: str = "",
          rule: str = "", **params: Any) -> Finding:
    return Finding("error", code, file, str(feature_id), field, rule, params)


def warning(code: str, *, file: str = "", feature_id: object = "", field: str = "",
            rule: str = "", **params: Any) -> Finding:
    return Finding("warning", code, file, str(feature_id), field, rule, params)


def errors_of(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def warnings_of(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "warning"]


class ScenarioError(Exception):
    """The scenario cannot be used; carries every finding, errors and warnings."""

    def __init__(self, findings: Iterable[Finding]):
        self.findings = list(findings)
        super().__init__("; ".join(f.format("en") for f in errors_of(self.findings)))


class InfeasibleError(Exception):
    """No valid plan exists; each finding says why in the clerk's terms."""

    def __init__(self, findings: Iterable[Finding]):
        self.findings = list(findings)
        super().__init__("; ".join(f.format("en") for f in self.findings))
