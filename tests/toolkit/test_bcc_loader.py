"""bcc-style sources compile with Debian's bcc and load with the log captured."""
from __future__ import annotations

import pytest

from toolkit.bcc_loader import load_source
from toolkit.model import FqdnkitError, Verdict

pytestmark = pytest.mark.root

SOURCE = r'''
#include <uapi/linux/bpf.h>
int len_ok(struct __sk_buff *skb) { return skb->len > 10; }
FQDNKIT_EXPECT_REJECT(unchecked_read, "pkt-no-check", "invalid access to packet")
int unchecked_read(struct __sk_buff *skb) {
    unsigned char *d = (void *)(long)skb->data;
    return d[20];
}
'''


def test_bcc_source_loads_with_verdicts_and_logs(tmp_path, capfd):
    src = tmp_path / "prog.c"
    src.write_text(SOURCE)
    results = {r.program: r for r in load_source(str(src), log_level=2)}
    assert set(results) == {"len_ok", "unchecked_read"}
    ok, bad = results["len_ok"], results["unchecked_read"]
    assert ok.verdict is Verdict.ACCEPTED and ok.loader == "bcc" and ok.stats.insns_processed
    assert bad.verdict is Verdict.REJECTED and bad.errno == 13
    assert "invalid access to packet" in bad.log
    assert bad.as_expected and ok.as_expected
    # the log is data, not printed on stderr
    assert "invalid access to packet" not in capfd.readouterr().err


def test_bcc_compile_error_names_the_file(tmp_path):
    src = tmp_path / "broken.c"
    src.write_text("int f(struct __sk_buff *skb) { return undefined_symbol; }\n")
    with pytest.raises(FqdnkitError, match="broken.c: bcc failed to compile"):
        load_source(str(src))
