"""A bpf_loop callback is verified once per iteration, each time as a new path that starts
at the bpf_loop call: an index that grows across iterations is an unbounded index, not a
range lost at a join (recorded on 6.18 from a program that walks DNS labels in a callback
with `w->s->msg[w->pos]`, pos never bounded)."""
import os

from toolkit.analysis import analyse

DATA = os.path.join(os.path.dirname(__file__), "data")


def test_growing_index_in_a_bpf_loop_callback_is_unmasked_not_a_join():
    with open(os.path.join(DATA, "h2_bpf_loop_cb_index.level2.log")) as fh:
        trace, _rep, counter, d = analyse(fh)
    assert counter.total == counter.recognized
    assert d.class_id == "scratch-index-unmasked"
    assert d.insn == 40 and "512-byte value" in d.explanation
