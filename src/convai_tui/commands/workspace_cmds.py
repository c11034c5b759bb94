"""``pull``, ``push``, ``diff``, ``versions``, ``branches``, ``tests pull|push``."""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import Any

from typing import TYPE_CHECKING

from .common import EXIT_CONFLICT, EXIT_OK, UsageError, emit_json, err, open_client, run, use_colour, workspace_root


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("pull", parents=[common], help="pull an agent's prompt and tests into the workspace")
    p.add_argument("agent_id")
    p.add_argument("--branch", help="branch name or id (default: main)")
    p.add_argument("--no-tests", action="store_true", help="do not pull the agent's tests")
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser("push", parents=[common], help="push a prompt version to the agent or a branch",
                       description="PATCH a prompt version to the agent (or a branch). Refused with exit code 3 "
                                   "when the remote prompt changed since the last pull, showing base, remote "
                                   "and local; --force overrides.")
    p.add_argument("--agent", help="agent id (default: the workspace's default agent)")
    p.add_argument("--branch", help="branch name or id to push to")
    p.add_argument("--create-branch", action="store_true", help="create --branch from the current remote first")
    p.add_argument("--message", "-m", default="", help="version description")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--version", type=int, help="version number to push (default: the latest)")
    g.add_argument("--draft", action="store_true", help="push the autosaved working draft")
    p.add_argument("--force", action="store_true", help="overwrite a remote that changed since the last pull")
    p.set_defaults(func=cmd_push)

    p = sub.add_parser("diff", parents=[common], help="diff two prompt versions",
                       description="Refs: remote (as last pulled), draft (working draft, else latest), latest, "
                                   "or a version number (3 or v3). Default: remote vs draft.")
    p.add_argument("a", nargs="?", default="remote")
    p.add_argument("b", nargs="?", default="draft")
    p.add_argument("--agent")
    p.add_argument("--side-by-side", "-y", action="store_true", help="two columns with word-level highlights")
    p.add_argument("--width", type=int, help="total width for --side-by-side (default: the terminal's)")
    p.add_argument("--context", "-U", type=int, default=3, help="lines of context (default 3)")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("versions", parents=[common], help="list or show saved prompt versions")
    p.add_argument("number", nargs="?", type=int, help="show this version")
    p.add_argument("--agent")
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser("branches", parents=[common], help="list, create or merge agent branches")
    bs = p.add_subparsers(dest="branches_cmd", metavar="ACTION", required=True)
    b = bs.add_parser("list", parents=[common], help="list branches")
    b.add_argument("--agent")
    b.set_defaults(func=cmd_branches_list)
    b = bs.add_parser("create", parents=[common], help="create a branch from the current main version")
    b.add_argument("name")
    b.add_argument("--agent")
    b.add_argument("--description", default="")
    b.set_defaults(func=cmd_branches_create)
    b = bs.add_parser("merge", parents=[common], help="merge a branch into another (default: main)")
    b.add_argument("source")
    b.add_argument("--into", help="target branch (default: main)")
    b.add_argument("--archive", action="store_true", help="archive the source branch after merging")
    b.add_argument("--agent")
    b.set_defaults(func=cmd_branches_merge)


def add_tests_sync_parsers(ts: Any, common: argparse.ArgumentParser) -> None:
    t = ts.add_parser("pull", parents=[common], help="write the agent's tests into the workspace")
    t.add_argument("--agent")
    t.set_defaults(func=cmd_tests_pull)
    t = ts.add_parser("push", parents=[common], help="create/update remote tests from the workspace")
    t.add_argument("--agent")
    t.add_argument("--delete-remote", action="store_true",
                   help="also delete attached remote tests that have no local file (never done otherwise)")
    t.set_defaults(func=cmd_tests_push)


if TYPE_CHECKING:
    from ..workspace.store import Workspace
    from ..workspace.sync import PushConflict
    from ..workspace.versions import PromptDraft


# ------------------------------------------------------------------ helpers
def _ws(args: Any) -> "Workspace":
    from ..workspace.store import Workspace

    return Workspace(workspace_root(args))


def agent_of(args: Any, ws: "Workspace") -> str:
    agent = getattr(args, "agent", None) or ws.config().default_agent
    if not agent:
        ids = ws.agent_ids()
        if len(ids) == 1:
            return ids[0]
        raise UsageError("which agent? pass --agent, or pull one first (it becomes the default)")
    return agent


async def resolve_branch(client: Any, agent_id: str, ref: str | None) -> str | None:
    if not ref:
        return None
    branches = (await client.list_branches(agent_id, include_archived=False)).results
    for b in branches:
        if ref in (b.id, b.name):
            return b.id
    names = ", ".join(b.name for b in branches) or "none"
    raise UsageError(f"no branch {ref!r} on {agent_id} (branches: {names})")


def resolve_ref(ws: "Workspace", agent_id: str, ref: str) -> tuple[str, "PromptDraft"]:
    versions = ws.list(agent_id)
    r = ref.lower()
    if r == "remote":
        af = ws.agent_file(agent_id)
        if af is None or af.pulled is None:
            raise UsageError(f"{agent_id} was never pulled: nothing to call 'remote' (run convai-tui pull)")
        return f"remote ({af.pulled.version_id or 'last pull'})", af.pulled.draft()
    if r == "draft":
        d = ws.load_draft(agent_id)
        if d is not None:
            return "draft", d[0]
        r = "latest"
    if r == "latest":
        if not versions:
            raise UsageError(f"no saved versions for {agent_id}")
        return f"v{versions[-1].number}", versions[-1].draft
    num = r[1:] if r.startswith("v") else r
    if not num.isdigit():
        raise UsageError(f"unknown version ref {ref!r}: use remote, draft, latest or a number")
    v = next((v for v in versions if v.number == int(num)), None)
    if v is None:
        raise UsageError(f"no version {ref} for {agent_id} (have: {', '.join(str(v.number) for v in versions)})")
    return f"v{v.number}", v.draft


def _as_text(d: "PromptDraft") -> str:
    """The whole editable prompt as one text (settings first, so they diff too)."""
    head = [f"# llm: {d.llm}", f"# temperature: {d.temperature}", f"# first_message: {d.first_message}", ""]
    return "\n".join(head) + d.prompt


def _warn_problems(ws: "Workspace") -> None:
    for p in ws.problems:
        err(f"warning: skipped {p}")


# ------------------------------------------------------------------ commands
def cmd_pull(args: Any) -> int:
    async def go() -> int:
        ws = _ws(args)
        from ..workspace.sync import pull

        async with open_client(args) as client:
            branch = await resolve_branch(client, args.agent_id, args.branch)
            res = await pull(ws, client, args.agent_id, branch_id=branch, with_tests=not args.no_tests)
        _warn_problems(ws)
        if args.json:
            emit_json({"agent_id": res.agent_id, "remote_version_id": res.remote_version_id,
                       "saved_version": res.version.number if res.version else None,
                       "tests_written": res.tests_written, "tests_kept": res.tests_kept})
        else:
            print(f"pulled {res.agent_id} ({res.remote_version_id or 'no version id'})"
                  + (f" -> saved as v{res.version.number}" if res.version else " (already the latest version)"))
            for t in res.tests_written:
                print(f"  test: {t}")
            for t in res.tests_kept:
                print(f"  kept: {t}")
        return EXIT_OK

    return run(go)


def cmd_push(args: Any) -> int:
    async def go() -> int:
        ws = _ws(args)
        agent_id = agent_of(args, ws)
        if args.draft:
            label, local = resolve_ref(ws, agent_id, "draft")
        elif args.version:
            label, local = resolve_ref(ws, agent_id, str(args.version))
        else:
            label, local = resolve_ref(ws, agent_id, "latest")
        if args.create_branch and not args.branch:
            raise UsageError("--create-branch needs --branch NAME")
        from ..workspace.sync import PushConflict, push

        async with open_client(args) as client:
            branch = None if args.create_branch else await resolve_branch(client, agent_id, args.branch)
            try:
                res = await push(ws, client, agent_id, local, branch_id=branch,
                                 create_branch=args.branch if args.create_branch else None,
                                 message=args.message, force=args.force)
            except PushConflict as c:
                _print_conflict(c, label)
                return EXIT_CONFLICT
        where = f"branch {args.branch}" if args.branch else "main"
        if args.json:
            emit_json({"agent_id": agent_id, "pushed": label, "branch_id": res.branch_id,
                       "version_id": res.version_id, "created_branch": res.created_branch, "forced": res.forced})
        else:
            print(f"pushed {label} to {agent_id} ({where}) -> {res.version_id}"
                  + (" (forced)" if res.forced else ""))
        return EXIT_OK

    return run(go)


def _print_conflict(c: "PushConflict", local_label: str) -> None:
    from ..workspace.diff import colour_unified, unified

    colour = use_colour(sys.stderr)
    err(f"convai-tui: conflict: {c}")
    err("\nWhat changed remotely since your pull (base -> remote):")
    for ln in colour_unified(unified(_as_text(c.base), _as_text(c.remote), "base (last pull)",
                                     f"remote ({c.remote_version})"), colour):
        err(ln)
    err(f"\nWhat you changed (base -> {local_label}):")
    for ln in colour_unified(unified(_as_text(c.base), _as_text(c.local), "base (last pull)", local_label), colour):
        err(ln)
    err("\nResolve: `convai-tui pull` (your versions are kept), merge by hand, then push; or push --force.")


def cmd_diff(args: Any) -> int:
    async def go() -> int:
        from ..workspace.diff import colour_unified, render_side_by_side, side_by_side, unified

        ws = _ws(args)
        agent_id = agent_of(args, ws)
        la, a = resolve_ref(ws, agent_id, args.a)
        lb, b = resolve_ref(ws, agent_id, args.b)
        _warn_problems(ws)
        ta, tb = _as_text(a), _as_text(b)
        colour = use_colour()
        if args.side_by_side:
            width = args.width or shutil.get_terminal_size((160, 40)).columns
            sbs = side_by_side(ta, tb)
            print(f"{la}  vs  {lb}: {sbs.added} added, {sbs.removed} removed, {sbs.changed} changed lines")
            for ln in render_side_by_side(sbs, width, colour, context=args.context):
                print(ln)
        else:
            for ln in colour_unified(unified(ta, tb, la, lb, context=args.context), colour):
                print(ln)
        return EXIT_OK

    return run(go)


def cmd_versions(args: Any) -> int:
    async def go() -> int:
        ws = _ws(args)
        agent_id = agent_of(args, ws)
        versions = ws.list(agent_id)
        _warn_problems(ws)
        if args.number is not None:
            _, d = resolve_ref(ws, agent_id, str(args.number))
            if args.json:
                emit_json({"number": args.number, "prompt": d.prompt, "first_message": d.first_message,
                           "llm": d.llm, "temperature": d.temperature})
            else:
                print(_as_text(d))
            return EXIT_OK
        if args.json:
            emit_json([{"number": v.number, "created": v.created, "message": v.message, "source": v.source}
                       for v in versions])
            return EXIT_OK
        import time

        for v in versions:
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(v.created))
            print(f"v{v.number:<4} {when}  {v.source:<28} {v.message}")
        return EXIT_OK

    return run(go)


def cmd_branches_list(args: Any) -> int:
    async def go() -> int:
        ws = _ws(args)
        agent_id = agent_of(args, ws)
        async with open_client(args) as client:
            agent = await client.get_agent(agent_id)
            branches = (await client.list_branches(agent_id)).results
        if args.json:
            emit_json([b.to_wire() for b in branches])
            return EXIT_OK
        for b in branches:
            main = " (main)" if b.id == agent.main_branch_id else ""
            print(f"{b.name}{main}\t{b.id}\t{b.description}")
        return EXIT_OK

    return run(go)


def cmd_branches_create(args: Any) -> int:
    async def go() -> int:
        from ..api.models import BranchCreate

        ws = _ws(args)
        agent_id = agent_of(args, ws)
        async with open_client(args) as client:
            agent = await client.get_agent(agent_id)
            made = await client.create_branch(agent_id, BranchCreate(parent_version_id=agent.version_id or "",
                                                                     name=args.name, description=args.description))
        if args.json:
            emit_json(made.to_wire())
        else:
            print(f"created branch {args.name} ({made.created_branch_id})")
        return EXIT_OK

    return run(go)


def cmd_branches_merge(args: Any) -> int:
    async def go() -> int:
        ws = _ws(args)
        agent_id = agent_of(args, ws)
        async with open_client(args) as client:
            src = await resolve_branch(client, agent_id, args.source)
            if args.into:
                dst = await resolve_branch(client, agent_id, args.into)
            else:
                dst = (await client.get_agent(agent_id)).main_branch_id
            out = await client.merge_branch(agent_id, src, dst, archive_source_branch=args.archive or None)
        if args.json:
            emit_json(out)
        else:
            print(f"merged {args.source} into {args.into or 'main'}")
        return EXIT_OK

    return run(go)


def cmd_tests_pull(args: Any) -> int:
    async def go() -> int:
        ws = _ws(args)
        agent_id = agent_of(args, ws)
        from ..workspace.sync import PullResult, _pull_tests

        async with open_client(args) as client:
            agent = await client.get_agent(agent_id)
            res = PullResult(agent_id, None, agent.version_id)
            await _pull_tests(ws, client, agent, res)
        if args.json:
            emit_json({"written": res.tests_written, "kept": res.tests_kept})
        else:
            for t in res.tests_written:
                print(f"wrote {t}")
            for t in res.tests_kept:
                print(f"kept  {t}")
            if not res.tests_written and not res.tests_kept:
                print("tests are up to date")
        return EXIT_OK

    return run(go)


def cmd_tests_push(args: Any) -> int:
    async def go() -> int:
        ws = _ws(args)
        agent_id = agent_of(args, ws)
        from ..workspace.sync import push_tests

        async with open_client(args) as client:
            res = await push_tests(ws, client, agent_id, delete_remote_missing=args.delete_remote)
        _warn_problems(ws)
        if args.json:
            emit_json({"created": res.created, "updated": res.updated, "unchanged": res.unchanged,
                       "deleted": res.deleted})
        else:
            for k in ("created", "updated", "deleted"):
                for name in getattr(res, k):
                    print(f"{k:<8} {name}")
            print(f"{len(res.unchanged)} unchanged")
        return EXIT_OK

    return run(go)
