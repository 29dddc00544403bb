"""The DNS-path goal verdicts of `fqdnkit bench`: a p99 difference is only called met or not
met when it is larger than the noise the rounds themselves show."""
from toolkit.bench.dnspath import goals, judge_p99_added


def test_added_tail_beyond_noise_is_judged_against_the_goal():
    assert judge_p99_added(54.0, 10.0) == (False, "")
    assert judge_p99_added(15.0, 5.0) == (True, "")


def test_negative_added_tail_is_not_called_met():
    met, note = judge_p99_added(-218.0, None)
    assert met is None and "noise" in note


def test_added_tail_within_round_spread_is_not_evaluated():
    met, note = judge_p99_added(40.0, 120.0)
    assert met is None and "120" in note


def _row(qps, p99):
    return {"qps": qps, "p99_us": p99, "p50_us": 1.0, "p999_us": p99, "lost": 0}


def test_goals_use_the_largest_spread_of_both_configurations():
    res = {"protos": ["udp"], "loads": ["1000", "max"], "configs": {
        "none": {"runs": {"udp/1000": _row(1000, 100.0), "udp/max": _row(50000, 900.0)},
                 "p99_spread_us": {"udp/1000": 5.0}},
        "enforcer": {"runs": {"udp/1000": _row(1000, 160.0), "udp/max": _row(40000, 950.0)},
                     "p99_spread_us": {"udp/1000": 80.0}}}}
    g = goals(res)
    assert g["udp_qps_ratio"]["met"] is False and abs(g["udp_qps_ratio"]["value"] - 0.8) < 1e-9
    assert g["udp_1000_p99_added_us"]["value"] == 60.0
    assert g["udp_1000_p99_added_us"]["met"] is None   # 60 us added, but rounds vary by 80 us
