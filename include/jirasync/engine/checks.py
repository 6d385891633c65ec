"""The gate between plan and apply: Great Expectations over the frames and the change set.

Keys present and unique, emails well-formed, and the mass-change circuit breaker: a run that
would update, delete or unlink more than the definition's share of the target stops unless an
admin overrides it for that run. Bad keys stop a run only past `max_bad_key_share` of a side:
below it the plan skips those records one by one, and the gate reports them as skipped. Great
Expectations runs in an ephemeral context on pandas data, so the gate writes no files; it is
imported only when a gate runs, as it is slow to load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jirasync.engine.definitions import SyncDefinition
from jirasync.engine.keys import EMAIL_PATTERN

_EXAMPLES = 5


@dataclass(frozen=True)
class Failure:
    """One expectation that failed: where, for how many records, and a few of them (ids/keys)."""

    expectation: str
    frame: str
    column: str
    count: int
    examples: list[str]

    def __str__(self) -> str:
        return f"{self.expectation} on {self.frame}.{self.column}: {self.count} (e.g. {', '.join(self.examples)})"


@dataclass(frozen=True)
class GateResult:
    """What the gate found; `passed` is true when nothing failed or the run overrides the gate.

    `skipped` are the expectations bad records failed within the definition's tolerance: the
    plan skips those records and the run goes on.
    """

    sync_id: str
    failures: list[Failure] = field(default_factory=list)
    override: bool = False
    skipped: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures or self.override

    def enforce(self) -> None:
        """Raise `GateFailed` unless the gate passed."""
        if not self.passed:
            raise GateFailed(self)


class GateFailed(RuntimeError):
    """The gate stopped a sync; the message names the sync, each failure and the way out."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        failures = "; ".join(str(failure) for failure in result.failures)
        super().__init__(
            f"sync '{result.sync_id}': the gate stopped the run before apply: {failures}. "
            "Correct the data at its source, or, if the change is intended, rerun with the override"
        )


def check_run(
    definition: SyncDefinition,
    source: pd.DataFrame,
    target: pd.DataFrame,
    changes: pd.DataFrame,
    *,
    override: bool = False,
    linked: int = 0,
) -> GateResult:
    """Run every expectation of the gate and collect the failures.

    ``linked`` is how many target records the sync keeps linked: an incremental read holds only
    those that changed, so the breaker measures a run's changes against the larger of the two.
    An empty change set writes nothing, so there is nothing to gate: most scheduled runs end
    here without loading Great Expectations (seconds in every task process).
    """
    if changes.empty:
        return GateResult(definition.id, [], override, [])
    gate = _Gate()
    emails = definition.key.normalise == "email"
    tolerated = definition.circuit_breaker.max_bad_key_share
    keys = [
        *gate.keys(source, "source", must_be_present=True, emails=emails, tolerated=tolerated),
        *gate.keys(target, "target", must_be_present=False, emails=emails, tolerated=tolerated),
    ]
    failures = [failure for failure, passed in keys if not passed]
    skipped = [failure for failure, passed in keys if passed]
    failures += gate.circuit_breaker(definition, max(len(target), linked), changes)
    return GateResult(definition.id, failures, override, skipped)


class _Gate:
    def __init__(self) -> None:
        # Importing Great Expectations logs some 200 "Skipping registering function" lines at INFO,
        # which would bury the gate's own findings in the task log.
        logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
        import great_expectations as gx

        self._context = gx.get_context(mode="ephemeral")
        self._context.variables.progress_bars = {"globally": False}
        self._source = self._context.data_sources.add_pandas("jirasync")

    def keys(
        self, frame: pd.DataFrame, name: str, *, must_be_present: bool, emails: bool, tolerated: float
    ) -> list[tuple[Failure, bool]]:
        """Each key expectation some record fails, and whether the share of such records is tolerated."""
        import great_expectations.expectations as gxe

        mostly = 1 - tolerated
        expectations: list[Any] = [gxe.ExpectColumnValuesToBeUnique(column="_key", mostly=mostly)]
        if must_be_present:
            expectations.insert(0, gxe.ExpectColumnValuesToNotBeNull(column="_key", mostly=mostly))
        if emails:
            expectations.append(
                gxe.ExpectColumnValuesToMatchRegex(column="_key", regex=EMAIL_PATTERN, mostly=mostly)
            )
        found = self._validate(frame[["_id", "_key"]], name, expectations, "_id", with_tolerated=True)
        return [(_key_failure(name, result, unexpected), result.success) for result, unexpected in found]

    def circuit_breaker(self, definition: SyncDefinition, size: int, changes: pd.DataFrame) -> list[Failure]:
        """One failure per kind of change that touches more of the target than its limit allows."""
        import great_expectations.expectations as gxe

        limits = definition.circuit_breaker
        if size < limits.min_target_size:
            return []
        writes_target = changes["direction"] == "to_target"
        # Filling a field the target left empty (a first sync, a new link) destroys nothing.
        overwrites = changes["before"].notna() & (changes["before"] != "null")
        touched = {
            "update": changes.loc[
                changes["kind"].isin(["update", "clear"]) & writes_target & overwrites, "target_id"
            ],
            "delete": changes.loc[changes["kind"] == "delete", "target_id"],
            "unlink": changes.loc[changes["kind"] == "unlink", "target_id"],
        }
        touched = {kind: ids.dropna().drop_duplicates() for kind, ids in touched.items()}
        shares = pd.DataFrame(
            {
                "kind": list(touched),
                "share": [len(ids) / size for ids in touched.values()],
                "max_share": [limits.max_update_share, limits.max_delete_share, limits.max_unlink_share],
            }
        )
        expectation = gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="max_share", column_B="share", or_equal=True
        )
        failures = []
        for result, unexpected in self._validate(shares, "change set", [expectation], "kind"):
            for row in unexpected:
                ids = touched[row["kind"]]
                failures.append(
                    Failure(
                        expectation=result.expectation_config.type,
                        frame="change set",
                        column=f"{row['kind']} share ({len(ids) / size:.0%} of {size} targets, "
                        f"limit {shares.set_index('kind').loc[row['kind'], 'max_share']:.0%})",
                        count=len(ids),
                        examples=list(ids.head(_EXAMPLES)),
                    )
                )
        return failures

    def _validate(
        self,
        frame: pd.DataFrame,
        name: str,
        expectations: list[Any],
        id_column: str,
        *,
        with_tolerated: bool = False,
    ) -> list[tuple[Any, list[dict[str, Any]]]]:
        """The failed expectations (and, `with_tolerated`, those passed by `mostly` with some
        unexpected rows), each with its unexpected rows (id column and value)."""
        asset = self._source.add_dataframe_asset(f"{name} {len(self._source.assets)}")
        batch = asset.add_batch_definition_whole_dataframe("all").get_batch(
            batch_parameters={"dataframe": frame}
        )
        failed = []
        for expectation in expectations:
            result = batch.validate(
                expectation,
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [id_column]},
            )
            if not result.success or (with_tolerated and result.result.get("unexpected_count")):
                failed.append((result, result.result.get("unexpected_index_list") or []))
        return failed


def _key_failure(name: str, result: Any, unexpected: list[dict[str, Any]]) -> Failure:
    return Failure(
        expectation=result.expectation_config.type,
        frame=name,
        column="_key",
        count=int(result.result.get("unexpected_count") or len(unexpected)),
        examples=[f"{row['_id']} ({_shown(row.get('_key'))})" for row in unexpected[:_EXAMPLES]],
    )


def _shown(value: Any) -> str:
    return "no key" if value is None or pd.isna(value) else str(value)
