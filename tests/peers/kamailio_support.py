"""A generated minimal Kamailio: in-memory registrar with digest auth and a stateful proxy.

Used by the Kamailio peer tests and by ``benchmarks/sip.py`` (the baseline). Loopback only,
``children`` UDP workers, passwords compiled into the script from the accounts given.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from pathlib import Path

from openpss.protocols.aio import within

MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"


def kamailio_config(
    *, port: int, accounts: dict[str, str], children: int = 2, auth_calls: bool = True
) -> str:
    """kamailio.cfg text: REGISTER with pv_www_authenticate + save, INVITE lookup + t_relay."""
    passwords = "\n".join(
        f'    if ($au == "{user}") {{ $avp(pw) = "{password}"; }}'
        for user, password in accounts.items()
    )
    call_auth = (
        """
    if (is_method("INVITE")) {
        route(PW);
        if (!pv_proxy_authenticate("$fd", "$avp(pw)", "0")) {
            proxy_challenge("$fd", "0");
            exit;
        }
        consume_credentials();
    }"""
        if auth_calls
        else ""
    )
    return f"""#!KAMAILIO
debug=1
log_stderror=yes
fork=yes
children={children}
disable_tcp=yes
auto_aliases=no
listen=udp:127.0.0.1:{port}
alias="127.0.0.1:{port}"
mpath="{MODULES}/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("auth", "secret", "openpss-kamailio-test-secret")
modparam("rr", "append_fromtag", 1)

route[PW] {{
    $avp(pw) = "";
{passwords}
}}

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (has_totag()) {{
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        if (is_method("ACK")) {{
            if (t_check_trans()) {{
                t_relay();
            }}
            exit;
        }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (is_method("REGISTER")) {{
        route(PW);
        if (!pv_www_authenticate("$td", "$avp(pw)", "0")) {{
            www_challenge("$td", "0");
            exit;
        }}
        consume_credentials();
        if (!save("location")) {{
            sl_reply_error();
        }}
        exit;
    }}
{call_auth}
    if (is_method("INVITE")) {{
        record_route();
    }}
    if (!lookup("location")) {{
        sl_send_reply("404", "Not Found");
        exit;
    }}
    if (!t_relay()) {{
        sl_reply_error();
    }}
}}
"""


class Kamailio:
    """A Kamailio process with a generated config on 127.0.0.1:port."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int,
        accounts: dict[str, str],
        children: int = 2,
        auth_calls: bool = True,
        shm_mb: int = 64,
    ) -> None:
        self.directory = directory
        self.shm_mb = shm_mb  # transactions live in shared memory: a load test needs more
        self.port = port
        directory.mkdir(parents=True, exist_ok=True)
        self.config = directory / "kamailio.cfg"
        self.config.write_text(
            kamailio_config(port=port, accounts=accounts, children=children, auth_calls=auth_calls)
        )
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, binary: str | None = None) -> None:
        """Check the config and start Kamailio in the foreground (-DD)."""
        binary = binary or shutil.which("kamailio") or "/usr/sbin/kamailio"
        check = await asyncio.create_subprocess_exec(
            binary,
            "-c",
            "-f",
            str(self.config),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await check.communicate()
        if check.returncode != 0:
            raise RuntimeError(f"kamailio refused its config: {out.decode()[-2000:]}")
        self.process = await asyncio.create_subprocess_exec(
            binary,
            "-DD",
            "-E",
            "-f",
            str(self.config),
            "-m",
            str(self.shm_mb),
            "-M",
            "8",
            "-Y",
            str(self.directory),
            stdout=(self.directory / "kamailio.log").open("wb"),
            stderr=asyncio.subprocess.STDOUT,
        )
        await asyncio.sleep(1.0)  # workers fork and bind
        if self.process.returncode is not None:
            raise RuntimeError(f"kamailio exited: {self.log()[-2000:]}")

    def log(self) -> str:
        """What Kamailio logged."""
        return (self.directory / "kamailio.log").read_text(errors="replace")

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it hangs."""
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await within(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            with contextlib.suppress(ProcessLookupError):
                await self.process.wait()
