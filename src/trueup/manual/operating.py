"""The operating manual, generated from a deployment's live config, for the people running the business.

Which system masters what, the flows and their schedules, each exception type with its owner, meaning,
Resolution and actions, the daily and weekly checks per team, and finance's reconciliation path. Rendered
as Markdown (`trueup manual`) or HTML (`trueup manual --html`); docs/manual.md is this module's output for
the example config `trueup init` writes, kept in step by a test.
"""

from __future__ import annotations

from html import escape

from trueup.config import Config
from trueup.model.exceptions import REASONS, Owner, actions_for

_ACTION_TEXT = {
    "retry": "retry (after fixing the cause)",
    "accept_and_post": "accept and post (the storefront's figures; finance reconciles)",
    "map_and_retry": "map and retry (add the mapping; every order that used it is retried)",
    "edit_and_post": "edit and post (correct the address held by trueup)",
    "resolve": "resolve (fixed outside trueup)",
    "ignore": "ignore (needs nothing)",
}


def _every(seconds: float) -> str:
    if seconds >= 86_400 and seconds % 86_400 == 0:
        return f"every {int(seconds // 86_400)} day(s)"
    if seconds >= 3_600 and seconds % 3_600 == 0:
        return f"every {int(seconds // 3_600)} hour(s)"
    if seconds >= 60 and seconds % 60 == 0:
        return f"every {int(seconds // 60)} minute(s)"
    return f"every {seconds:g} seconds"


def _masters(cfg: Config) -> list[str]:
    shop, erp = f"the storefront ({cfg.storefront.name})", f"the ERP ({cfg.erp.name}, {cfg.erp.kind})"
    return [
        "| What | Mastered in | What trueup does |",
        "|---|---|---|",
        f"| Orders and customers | {shop} | posts each paid order to the ERP once |",
        f"| Items (SKUs) | {erp} | reads the item master to check order lines |",
        f"| Stock | {erp} | pushes sellable stock to the storefront"
        + ("" if cfg.stock.enabled else " (not enabled here)")
        + " |",
        f"| Prices | {erp} | pushes the price list to the storefront"
        + ("" if cfg.prices.enabled else " (not enabled here)")
        + " |",
        f"| Despatches and tracking | {erp} | creates storefront shipments with tracking"
        + ("" if cfg.flows.despatches.enabled else " (not enabled here)")
        + " |",
        f"| Financial postings | {erp} | carries the storefront's tax as final; variances go to finance |",
        f"| Marketing content | {shop} | never touched |",
    ]


def _flows(cfg: Config) -> list[str]:
    f = cfg.flows
    rows = [
        ("Orders: storefront to ERP", f.orders.enabled, _every(f.orders.interval_seconds),
         f"posts once payment is {f.orders.post_when}; unpaid orders are re-checked "
         f"{_every(f.orders.payment_recheck_seconds)}"),
        ("Item master: ERP to trueup", f.items.enabled, _every(f.items.interval_seconds),
         "refreshes the SKU map orders are checked against"),
        ("Despatches: ERP to storefront", f.despatches.enabled, _every(f.despatches.interval_seconds),
         f"an order posted {f.despatches.stalled_after_hours:g} h ago with no despatch is a stalled order"),
        ("Stock: ERP to storefront", cfg.stock.enabled, _every(cfg.stock.interval_seconds),
         "sellable stock per source, drift checked on the same schedule"),
        ("Prices: ERP to storefront", cfg.prices.enabled, _every(cfg.prices.interval_seconds),
         "the price list, drift checked on the same schedule"),
        ("Orphan sweep (paid orders not posted)", cfg.checks.orphans.enabled,
         _every(cfg.checks.orphans.interval_seconds),
         f"an order not posted within {cfg.checks.orphans.sla_minutes:g} minutes is an exception"),
    ]  # fmt: skip
    out = ["| Flow | Runs | Schedule | Notes |", "|---|---|---|---|"]
    out += [f"| {name} | {'yes' if on else 'no'} | {when} | {notes} |" for name, on, when, notes in rows]
    return out


_CHECKS: dict[Owner, tuple[list[str], list[str]]] = {
    Owner.FINANCE: (
        [
            "Open exceptions owned by finance: `trueup exceptions list --owner finance`.",
            "Tax variances: check the storefront's tax rule; accept and post when the storefront is right.",
            "Orders waiting for payment longer than a day: capture or cancel them in the storefront.",
        ],
        [
            "Reconcile accepted variances: `trueup exceptions variances`, journal each, then "
            "`trueup exceptions reconcile ID --note 'journal …'`.",
            "Compare the week's posted order count and value in the ERP with the storefront's paid orders.",
        ],
    ),
    Owner.ECOMMERCE: (
        [
            "Open exceptions owned by ecommerce: `trueup exceptions list --owner ecommerce`.",
            "Unknown SKUs: create the item in the ERP, or map it (`map-and-retry`) when it has another code.",
            "Addresses that do not fit: correct them in the storefront and retry, or `edit-and-post`.",
        ],
        [
            "Look at what was cleared and ignored this week: "
            "`trueup exceptions list --status all --since …`.",
            "Review the mappings added from the queue; move lasting ones into [mappings] in trueup.toml.",
        ],
    ),
    Owner.WAREHOUSE: (
        [
            "Open exceptions owned by the warehouse: `trueup exceptions list --owner warehouse`.",
            "Unmapped shipping methods: `map-and-retry` with the ERP carrier and service.",
            "Stalled orders and despatches without a storefront shipment.",
        ],
        ["Check the ERP's batch jobs are running (files ERPs) and the despatch carriers are all mapped."],
    ),
}


def manual_markdown(cfg: Config) -> str:
    lines = [
        "# Operating manual",
        "",
        "<!-- Generated by `trueup manual` from the deployment's config; do not edit by hand. -->",
        "",
        f"trueup keeps the storefront **{cfg.storefront.name}** and the ERP **{cfg.erp.name}** "
        f"({cfg.erp.kind}) true to each other. This manual is for the people running the business: "
        "where each kind of data lives, what runs when, what each exception means, who owns it and what "
        "to do.",
        "",
        "## Which system masters what",
        "",
        *_masters(cfg),
        "",
        "## Flows and schedules",
        "",
        *_flows(cfg),
        "",
        "## The exception queue",
        "",
        "Anything trueup cannot process waits in one queue, with a reason, an owner team and a Resolution. "
        "The rest goes on. Every action needs a note and a name (`--actor`, or TRUEUP_ACTOR), and is kept "
        "in the exception's history with the time.",
        "",
        "- See the queue: `trueup exceptions list` (`--owner TEAM`, `--reason CODE`, `--status all`).",
        "- See one: `trueup exceptions show #ID`: what happened, the Resolution, the actions, the history.",
        "- Act: `trueup exceptions ACTION #ID --note '…' --actor NAME`; bulk with `--reason`, `--owner`, "
        "`--since`.",
        "",
        "| Exception | Owner | Actions |",
        "|---|---|---|",
    ]
    for reason, info in REASONS.items():
        actions = ", ".join(a.replace("_", "-") for a in actions_for(reason))
        lines.append(f"| `{reason}`: {info.title} | {info.owner} | {actions} |")
    for owner in Owner:
        owned = [(r, i) for r, i in REASONS.items() if i.owner == owner]
        daily, weekly = _CHECKS[owner]
        lines += ["", f"## {str(owner).capitalize()} team", "", "### Daily checks", ""]
        lines += [f"- {c}" for c in daily]
        lines += ["", "### Weekly checks", ""]
        lines += [f"- {c}" for c in weekly]
        lines += ["", "### Exceptions this team owns"]
        for reason, info in owned:
            lines += [
                "",
                f"#### `{reason}`: {info.title}",
                "",
                info.meaning,
                "",
                f"**Resolution:** {info.resolution}",
                "",
                "**Actions:** " + "; ".join(_ACTION_TEXT[a] for a in actions_for(reason)) + ".",
            ]
    lines += [
        "",
        "## Finance's reconciliation path",
        "",
        "1. A tax or totals variance parks the order (`tax_variance`, `totals_mismatch`), owned by finance.",
        "2. Finance checks the storefront's figures. If they are wrong, the order is corrected in the "
        "storefront and retried; nothing reaches the ERP until it adds up.",
        "3. If the storefront is right, `trueup exceptions accept-and-post #ID --note '…'` posts the order "
        "with the storefront's tax, for that order and those figures only.",
        "4. The variance goes onto finance's list: `trueup exceptions variances` (`--csv` for a spreadsheet) "
        "shows each with the order's ERP document once posted.",
        "5. Finance journals the difference in the ERP and marks it: `trueup exceptions reconcile ID --note "
        "'journal …'`. Reconciled variances stay listed with `--status all`.",
        "",
    ]
    return "\n".join(lines)


def manual_html(cfg: Config) -> str:
    """The same manual as a standalone HTML page."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(manual_markdown(cfg))
    title = escape(f"trueup operating manual: {cfg.storefront.name} and {cfg.erp.name}")
    style = (
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.5}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top}"
        "code{background:#f4f4f4;padding:0 .2rem}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
        f"<style>{style}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )
