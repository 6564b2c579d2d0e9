"""The seeded fraud transaction simulator (tasks.fraud.simulator)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gatelab.errors import ConfigError, DataError

from tasks.fraud.schema import AMOUNT, CARD, LABEL, SCENARIO, TERMINAL, TIME
from tasks.fraud.simulator import SimulatedSource, Simulation
from tasks.fraud.sources import TransactionSource

SMALL = dict(n_customers=500, n_terminals=1000, n_days=60, seed=3)


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return SimulatedSource(**SMALL).simulate()


def _days(frame: pd.DataFrame, start: str = "2018-04-01") -> np.ndarray:
    return ((frame[TIME] - pd.Timestamp(start)) // pd.Timedelta(days=1)).to_numpy()


def test_same_seed_same_table_other_seed_other_table() -> None:
    first = SimulatedSource(n_customers=200, n_terminals=400, n_days=20, seed=7).load()
    again = SimulatedSource(n_customers=200, n_terminals=400, n_days=20, seed=7).load()
    other = SimulatedSource(n_customers=200, n_terminals=400, n_days=20, seed=8).load()
    pd.testing.assert_frame_equal(first, again)
    assert len(first) > 1000
    assert len(first) != len(other) or not first[AMOUNT].equals(other[AMOUNT])


def test_canonical_columns_dtypes_and_time_order(sim: Simulation) -> None:
    frame = sim.transactions
    assert list(frame.columns) == [CARD, TIME, AMOUNT, TERMINAL, LABEL, SCENARIO]
    assert frame[CARD].dtype == np.int64 and frame[TERMINAL].dtype == np.int64
    assert frame[TIME].dtype == "datetime64[ns]"
    assert frame[AMOUNT].dtype == np.float64 and frame[LABEL].dtype == np.int8 and frame[SCENARIO].dtype == np.int8
    assert frame[TIME].is_monotonic_increasing
    assert isinstance(frame.index, pd.RangeIndex)
    assert (frame[AMOUNT] >= 0).all() and np.allclose(frame[AMOUNT], frame[AMOUNT].round(2))
    assert frame[TIME].min() >= pd.Timestamp("2018-04-01")
    assert frame[TIME].max() < pd.Timestamp("2018-04-01") + pd.Timedelta(days=SMALL["n_days"])
    assert frame[CARD].between(0, SMALL["n_customers"] - 1).all()
    assert frame[TERMINAL].between(0, SMALL["n_terminals"] - 1).all()
    assert set(frame[SCENARIO].unique()) == {0, 1, 2, 3}
    assert ((frame[LABEL] == 1) == (frame[SCENARIO] > 0)).all()
    assert 0.002 < frame[LABEL].mean() < 0.03


def test_customers_use_only_terminals_within_the_radius(sim: Simulation) -> None:
    frame = sim.transactions
    cust = sim.customers.loc[frame[CARD], ["x", "y"]].to_numpy()
    term = sim.terminals.loc[frame[TERMINAL], ["x", "y"]].to_numpy()
    assert (np.hypot(*(cust - term).T) < 5.0).all()
    # Customers without a terminal in reach make no transactions.
    idle = sim.customers.index[sim.customers["nb_terminals"] == 0]
    assert not frame[CARD].isin(idle).any()


def test_genuine_amounts_follow_the_customer_profile(sim: Simulation) -> None:
    genuine = sim.transactions[sim.transactions[SCENARIO] == 0]
    ratio = genuine[AMOUNT].to_numpy() / sim.customers.loc[genuine[CARD], "mean_amount"].to_numpy()
    assert 0.9 < ratio.mean() < 1.1
    per_day = len(sim.transactions) / SMALL["n_days"] / SMALL["n_customers"]
    assert 1.6 < per_day < 2.2  # mean of U(0, 4), less the times drawn outside the day


def test_scenario_1_every_amount_above_220_is_fraud(sim: Simulation) -> None:
    frame = sim.transactions
    large = frame[frame[AMOUNT] > 220]
    assert len(large) > 0
    assert (large[LABEL] == 1).all()
    assert (frame.loc[frame[SCENARIO] == 1, AMOUNT] > 220).all()


def test_scenario_2_compromised_terminal_windows_are_all_fraud(sim: Simulation) -> None:
    frame = sim.transactions.assign(day=_days(sim.transactions))
    events = sim.compromised_terminals
    assert len(events) > 0
    covered = np.zeros(len(frame), dtype=bool)
    for terminal, day in events[[TERMINAL, "day"]].itertuples(index=False):
        window = (frame[TERMINAL] == terminal) & (frame["day"] >= day) & (frame["day"] < day + 28)
        assert (frame.loc[window, LABEL] == 1).all()
        assert frame.loc[window, SCENARIO].isin([2, 3]).all()  # scenario 3 may overwrite the number
        covered |= window.to_numpy()
    # Every scenario-2 row lies in some compromised terminal's window, and only there.
    assert covered[frame[SCENARIO].to_numpy() == 2].all()
    outside = frame[~covered]
    assert not (outside[SCENARIO] == 2).any()


def test_scenario_3_inflates_a_third_of_the_window(sim: Simulation) -> None:
    frame = sim.transactions.assign(day=_days(sim.transactions))
    events = sim.compromised_customers
    assert len(events) > 0
    covered = np.zeros(len(frame), dtype=bool)
    lone = 0
    for card, day in events[[CARD, "day"]].itertuples(index=False):
        window = (frame[CARD] == card) & (frame["day"] >= day) & (frame["day"] < day + 14)
        frauds = int((frame.loc[window, SCENARIO] == 3).sum())
        others = events[(events[CARD] == card) & ((events["day"] - day).abs() < 14)]
        if len(others) == 1:  # no other event of this customer overlaps: exactly a third, rounded down
            assert frauds == int(window.sum()) // 3
            lone += 1
        else:
            assert frauds >= int(window.sum()) // 3
        covered |= window.to_numpy()
    assert lone > 0
    hit = frame[SCENARIO].to_numpy() == 3
    assert hit.sum() > 0 and covered[hit].all()
    ratio = frame.loc[hit, AMOUNT].to_numpy() / sim.customers.loc[frame.loc[hit, CARD], "mean_amount"].to_numpy()
    assert ratio.mean() > 3.5  # about 5x the customer's genuine mean


def test_fraud_rates_do_not_change_the_genuine_draws() -> None:
    settings = dict(n_customers=300, n_terminals=600, n_days=30, seed=5)
    with_fraud = SimulatedSource(**settings).load()
    without = SimulatedSource(**settings, compromised_terminals_per_day=0.0, compromised_customers_per_day=0.0).load()
    assert set(without[SCENARIO].unique()) <= {0, 1}
    assert (with_fraud[SCENARIO] >= 2).any()
    for column in (CARD, TIME, TERMINAL):
        pd.testing.assert_series_equal(with_fraud[column], without[column])


def test_start_date_sets_the_timestamps() -> None:
    frame = SimulatedSource(n_customers=50, n_terminals=100, n_days=3, start_date="2020-02-28").load()
    days = set(frame[TIME].dt.normalize().unique())
    assert days <= {pd.Timestamp("2020-02-28"), pd.Timestamp("2020-02-29"), pd.Timestamp("2020-03-01")}
    assert len(days) == 3


def test_fingerprint_is_short_and_follows_the_settings() -> None:
    source = SimulatedSource(seed=1)
    assert isinstance(source, TransactionSource)
    assert source.fingerprint() == SimulatedSource(seed=1).fingerprint()
    assert len(source.fingerprint()) == 16 and int(source.fingerprint(), 16) >= 0
    assert source.fingerprint() != SimulatedSource(seed=2).fingerprint()
    assert source.fingerprint() != SimulatedSource(seed=1, n_days=81).fingerprint()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n_customers", 0),
        ("n_terminals", 0),
        ("n_days", 0),
        ("n_days", 2.5),
        ("radius", 0.0),
        ("radius", -1.0),
        ("compromised_terminals_per_day", -0.1),
        ("compromised_customers_per_day", -1e-3),
        ("compromised_customers_per_day", 1.5),
        ("compromised_terminals_per_day", float("nan")),
        ("start_date", "not a date"),
        ("start_date", "2018-13-45"),
        ("seed", -1),
    ],
)
def test_bad_settings_raise_config_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        SimulatedSource(**{field: value})


def test_no_terminal_in_reach_is_a_clear_data_error() -> None:
    with pytest.raises(DataError, match="radius"):
        SimulatedSource(n_customers=2, n_terminals=2, n_days=2, radius=1e-9).load()


def test_jsonargparse_builds_it_from_a_class_path() -> None:
    from jsonargparse import ArgumentParser

    parser = ArgumentParser(exit_on_error=False)
    parser.add_argument("--source", type=TransactionSource)
    config = parser.parse_string(
        "source:\n"
        "  class_path: tasks.fraud.simulator.SimulatedSource\n"
        "  init_args:\n"
        "    n_customers: 20\n"
        "    n_days: 5\n"
        "    compromised_terminals_per_day: 0.001\n"
    )
    source = parser.instantiate(config).source
    assert source == SimulatedSource(n_customers=20, n_days=5, compromised_terminals_per_day=0.001)
