"""Exception reason codes and owner teams.

Codes are snake_case and stable: alerts, reports and the operating manual key on them. Each code has one
owner team and one resolution, listed in docs/exceptions.md (generated from `REASONS` and checked by a test).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Owner(StrEnum):
    FINANCE = "finance"
    ECOMMERCE = "ecommerce"
    WAREHOUSE = "warehouse"


class Side(StrEnum):
    """Which system's data or state must change for the exception to clear."""

    STOREFRONT = "storefront"
    ERP = "erp"
    TRUEUP = "trueup"  # trueup's own configuration (a mapping)


class Reason(StrEnum):
    UNKNOWN_SKU = "unknown_sku"
    INACTIVE_SKU = "inactive_sku"
    ADDRESS_TOO_LONG = "address_too_long"
    ADDRESS_INVALID = "address_invalid"
    INVALID_POSTCODE = "invalid_postcode"
    UNMAPPED_CARRIER = "unmapped_carrier"
    TAX_VARIANCE = "tax_variance"
    TOTALS_MISMATCH = "totals_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    PAYMENT_PENDING = "payment_pending"
    ORDER_CANCELLED = "order_cancelled"
    DUPLICATE_ORDER_ID = "duplicate_order_id"
    ERP_REF_TAKEN = "erp_ref_taken"
    ERP_REJECTED = "erp_rejected"
    ERP_UNAVAILABLE = "erp_unavailable"
    MALFORMED_RECORD = "malformed_record"
    UNREPRESENTABLE_TEXT = "unrepresentable_text"
    ERP_NOT_ACKNOWLEDGED = "erp_not_acknowledged"
    INVALID_QUANTITY = "invalid_quantity"
    INVALID_IDENTIFIER = "invalid_identifier"
    STOCK_DRIFT = "stock_drift"
    UNMAPPED_LOCATION = "unmapped_location"
    STOCK_PUSH_REJECTED = "stock_push_rejected"
    PRICE_REJECTED = "price_rejected"
    PRICE_DRIFT = "price_drift"
    ORPHANED_ORDER = "orphaned_order"
    MISSING_IN_ERP = "missing_in_erp"
    # fulfilment: ERP despatches become storefront shipments
    AWAITING_ORDER = "awaiting_order"
    UNMAPPED_DESPATCH_CARRIER = "unmapped_despatch_carrier"
    DESPATCH_UNMATCHED = "despatch_unmatched"
    SHIPMENT_REFUSED = "shipment_refused"
    STALLED_ORDER = "stalled_order"
    STATUS_DRIFT = "status_drift"
    # finance: the sales-to-ledger reconciliation (checks/reconcile.py)
    LEDGER_ORPHANED = "ledger_orphaned"
    LEDGER_UNKNOWN = "ledger_unknown"
    LEDGER_NET_MISMATCH = "ledger_net_mismatch"
    LEDGER_TAX_MISMATCH = "ledger_tax_mismatch"
    LEDGER_TAX_ROUNDING = "ledger_tax_rounding"
    LEDGER_SHIPPING_MISMATCH = "ledger_shipping_mismatch"
    LEDGER_DISCOUNT_MISMATCH = "ledger_discount_mismatch"
    LEDGER_SKU_MISMATCH = "ledger_sku_mismatch"
    LEDGER_QUANTITY_MISMATCH = "ledger_quantity_mismatch"
    REFUND_WITHOUT_CREDIT_NOTE = "refund_without_credit_note"
    CREDIT_NOTE_MISMATCH = "credit_note_mismatch"
    PAYOUT_UNMATCHED = "payout_unmatched"
    PAYOUT_AMOUNT_MISMATCH = "payout_amount_mismatch"
    # refunds: storefront credit memos become ERP credit notes
    REFUND_AWAITING_ORDER = "refund_awaiting_order"
    REFUNDS_WATCHED = "refunds_watched"
    REFUND_DRIFT = "refund_drift"
    RESTOCK_NOT_BOOKED = "restock_not_booked"
    INVOICE_REFUSED = "invoice_refused"
    CANCELLED_AFTER_POST = "cancelled_after_post"
    SHORT_SHIPMENT = "short_shipment"
    SHORT_SHIPMENT_REFUND_REFUSED = "short_shipment_refund_refused"
    # catalogue: the ERP item master → storefront products (R-CAT-1, R-CAT-3)
    ITEM_REJECTED = "item_rejected"
    DUPLICATE_SKU = "duplicate_sku"
    SKU_RENAMED = "sku_renamed"
    DYNAMIC_BUNDLE_SKU = "dynamic_bundle_sku"


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    owner: Owner
    title: str
    meaning: str
    resolution: str
    at_fault: Side = Side.STOREFRONT


REASONS: dict[Reason, ReasonInfo] = {
    Reason.UNKNOWN_SKU: ReasonInfo(
        Owner.ECOMMERCE,
        "SKU not in the ERP item master",
        "An order line's SKU has no matching item in the ERP, so the ERP would reject the order.",
        "Create the item in the ERP (products originate there) or correct the SKU in the storefront, "
        "or map it to its ERP SKU from the queue (`trueup exceptions map-and-retry ID --to ERP-SKU`, "
        "which retries every order that used it) or in [mappings.skus]; then retry the exception.",
    ),
    Reason.INACTIVE_SKU: ReasonInfo(
        Owner.ECOMMERCE,
        "SKU inactive in the ERP",
        "The SKU exists in the ERP but is discontinued or blocked for sale.",
        "Reactivate the item in the ERP or agree a substitute with the customer; then retry the exception.",
    ),
    Reason.ADDRESS_TOO_LONG: ReasonInfo(
        Owner.ECOMMERCE,
        "Address does not fit the ERP's fields",
        "After joining and re-splitting the street lines, the address needs more or longer lines than "
        "the ERP allows; posting it would truncate it or be rejected by the warehouse system.",
        "Shorten the address in the storefront order (e.g. abbreviate 'Road' to 'Rd') keeping it "
        "deliverable, then retry the exception.",
    ),
    Reason.ADDRESS_INVALID: ReasonInfo(
        Owner.ECOMMERCE,
        "Address incomplete",
        "A required address field (street, city, country) is empty or the country is not an ISO code.",
        "Complete the address in the storefront order after checking with the customer, then retry.",
    ),
    Reason.INVALID_POSTCODE: ReasonInfo(
        Owner.ECOMMERCE,
        "UK postcode malformed",
        "A GB delivery address has a postcode that is not a valid UK postcode format.",
        "Correct the postcode in the storefront order (check with the customer), then retry.",
    ),
    Reason.UNMAPPED_CARRIER: ReasonInfo(
        Owner.WAREHOUSE,
        "Shipping method not mapped to an ERP carrier",
        "The storefront shipping method has no entry in [mappings.carriers], so the warehouse would not "
        "know how to ship the order.",
        "Decide which ERP carrier and service ship this method, have it added to [mappings.carriers] in "
        'trueup.toml (e.g. "premiumcarrier_sameday" = "DPD/SAMEDAY"), then bulk-retry the exceptions '
        "with this reason; or map it from the queue (`trueup exceptions map-and-retry ID --to "
        "DPD/SAMEDAY`), which retries every order that used it.",
        Side.TRUEUP,
    ),
    Reason.TAX_VARIANCE: ReasonInfo(
        Owner.FINANCE,
        "Tax does not match the rate",
        "A line's tax differs from its rate applied to its net amount by more than the tolerance; the "
        "ERP's VAT would not agree with the storefront's and month-end would need a journal.",
        "Check the tax rule on the storefront for this product and country. If the storefront figure "
        "is right, accept and post it (`trueup exceptions accept-and-post`: the ERP carries the "
        "storefront's tax and the variance goes to finance's reconciliation list); otherwise correct the "
        "order and retry.",
    ),
    Reason.TOTALS_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Order totals do not add up",
        "Lines, shipping and discounts do not add up to the order's grand total or tax total.",
        "Compare the order in the storefront admin with its invoice; fix the order and retry, or accept "
        "and post it as it is (`accept-and-post`: the difference goes to finance's reconciliation list).",
    ),
    Reason.CURRENCY_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Currency not accepted by the ERP",
        "The order's currency is not one the ERP company books in.",
        "Add the currency to [erp] currencies if the ERP accepts it, or book the order by hand.",
    ),
    Reason.PAYMENT_PENDING: ReasonInfo(
        Owner.FINANCE,
        "Payment not captured yet",
        "The order is not paid yet, so it must not reach the warehouse. It is re-checked on a schedule.",
        "Usually none: it posts by itself once payment is captured. If it waits longer than a day, "
        "check the payment provider and cancel or capture the order in the storefront.",
    ),
    Reason.ORDER_CANCELLED: ReasonInfo(
        Owner.ECOMMERCE,
        "Order cancelled before posting",
        "The order was cancelled in the storefront before it was paid, so it is not sent to the ERP.",
        "None. Ignore the entry once reviewed.",
    ),
    Reason.DUPLICATE_ORDER_ID: ReasonInfo(
        Owner.ECOMMERCE,
        "Two orders share one order number",
        "The storefront holds two orders (different entity ids, both named in the exception) with the "
        "same increment id. The first one seen is kept; the second is held here so that it is not lost.",
        "Check both orders in the storefront admin. Give the second its own order number (or cancel it if "
        "it is a copy), then resolve this exception; it is re-read under its new number.",
    ),
    Reason.ERP_REF_TAKEN: ReasonInfo(
        Owner.ECOMMERCE,
        "ERP reference already linked to another order",
        "The ERP took the order, but under a reference (e.g. a file name) that trueup has already linked "
        "to another order, so the two cannot be told apart. The other order is named in the exception.",
        "Check in the ERP which order the reference holds and post the other by hand, or tell the "
        "integrator: the connector's references must be one per order. Then resolve this exception.",
        Side.ERP,
    ),
    Reason.ERP_REJECTED: ReasonInfo(
        Owner.ECOMMERCE,
        "ERP rejected the order",
        "The ERP answered with a validation error that trueup's checks did not predict.",
        "Read the ERP's message in the exception, fix the data or the mapping, then retry. Tell the "
        "integrator, so that trueup's validation catches this before posting next time.",
        Side.ERP,
    ),
    Reason.ERP_UNAVAILABLE: ReasonInfo(
        Owner.ECOMMERCE,
        "ERP unreachable after retries",
        "The ERP kept failing (timeouts, 5xx, rate limits) for every retry of this record.",
        "Check the ERP's status page or ask its support; once it answers again, bulk-retry the exceptions "
        "with this reason.",
        Side.ERP,
    ),
    Reason.MALFORMED_RECORD: ReasonInfo(
        Owner.ECOMMERCE,
        "Record could not be read",
        "The source system sent a record trueup cannot interpret (a missing or malformed field).",
        "Inspect the payload shown in the exception; fix it at the source, then retry.",
    ),
    Reason.UNREPRESENTABLE_TEXT: ReasonInfo(
        Owner.ECOMMERCE,
        "Text the ERP's character set cannot hold",
        "A name, address or code holds characters (emoji, CJK, other scripts) that the ERP's interface "
        "(e.g. Prima's ISO-8859-1) cannot represent, and there is no faithful transliteration. Sending it "
        "would garble the parcel label.",
        "Correct the field in the storefront order to Latin characters (check the spelling with the "
        "customer), then retry.",
    ),
    Reason.ERP_NOT_ACKNOWLEDGED: ReasonInfo(
        Owner.WAREHOUSE,
        "ERP never took the file",
        "trueup wrote the record as a file for a batch ERP (Merret, a files ERP), and the ERP's batch "
        "neither took it (done/ or an acknowledgement) nor refused it (error/) within [erp] "
        "ack_timeout_minutes. The order is not in the ERP yet. Owned by the warehouse team because "
        "operations runs the ERP's batch jobs.",
        "Check that the ERP's import batch is running and reading the outbound folder; once it has "
        "taken the file (or after deleting a file it will never take), retry the exception: trueup "
        "checks again and re-sends only a file that is nowhere.",
        Side.ERP,
    ),
    Reason.INVALID_QUANTITY: ReasonInfo(
        Owner.ECOMMERCE,
        "Quantity the ERP cannot book",
        "An order line's quantity is zero, negative, or a fraction on a whole-unit item; every ERP "
        "refuses such a line, so the order is stopped before it is sent.",
        "Correct the order in the storefront (or cancel and re-create it) with whole positive "
        "quantities, then retry the exception.",
    ),
    Reason.INVALID_IDENTIFIER: ReasonInfo(
        Owner.ECOMMERCE,
        "Identifier empty or too long for the ERP",
        "An identifier the ERP keys on (the order id, a SKU, the customer e-mail) is empty or longer "
        "than the ERP's field. Descriptive text (a line's name) is trimmed with a note instead; an "
        "identifier cannot be cut without pointing at something else.",
        "Correct the identifier at its source (the storefront order or product), or raise the limit in "
        "[erp.limits] if the ERP's field is really longer, then retry the exception.",
    ),
    Reason.STOCK_DRIFT: ReasonInfo(
        Owner.WAREHOUSE,
        "Storefront stock differs from the ERP's sellable stock",
        "A SKU's quantity at a storefront source has differed from the sellable figure trueup last pushed "
        "for longer than [stock] drift_age_seconds and by more than drift_tolerance units, with no push "
        "in flight to fix it: someone or something changed the storefront's stock outside trueup. The "
        "storefront may oversell (or undersell) by the units at risk.",
        "Find who changed the source quantity in the storefront (admin edits, another integration) and "
        "stop it; then run `trueup sync stock --full` to push the ERP's figures again, and resolve the "
        "exception.",
    ),
    Reason.UNMAPPED_LOCATION: ReasonInfo(
        Owner.ECOMMERCE,
        "ERP stock location not mapped to a storefront source",
        "The ERP reports stock at a location that [stock.locations] does not map to a storefront source, "
        "so none of that location's stock reaches the storefront.",
        "Map the location to a source code in [stock.locations] in trueup.toml (or leave it unmapped on "
        "purpose), then resolve the exception.",
        Side.TRUEUP,
    ),
    Reason.STOCK_PUSH_REJECTED: ReasonInfo(
        Owner.ECOMMERCE,
        "Storefront refused a SKU's stock at a source",
        "The storefront refused the quantity of one SKU at one source (e.g. Magento cannot save a source "
        "item for a source it does not have, or a bulk operation failed), so that figure was not saved. "
        "The rest of its batch was saved; trueup offers the figure again on every pass.",
        "Create the source in the storefront (Stores > Inventory > Sources) or the product, or correct "
        "[stock.locations] or the SKU in the ERP; then resolve the exception (quantities are absolute, so "
        "pushing one again is harmless).",
    ),
    Reason.PRICE_REJECTED: ReasonInfo(
        Owner.ECOMMERCE,
        "Storefront refused a price",
        "The storefront's price API saved the rest of a batch but refused this row (Magento answers 200 "
        "with a list of refused rows): most often the product does not exist in the storefront yet, or the "
        "price is negative. The storefront keeps its old price for it.",
        "Create the product in the storefront, or correct the SKU or the price in the ERP's price list; "
        "then resolve the exception (trueup offers the price again on every pass).",
    ),
    Reason.PRICE_DRIFT: ReasonInfo(
        Owner.ECOMMERCE,
        "Storefront price differs from the ERP's price list",
        "A SKU's base price in the storefront differs from the price trueup last pushed from the ERP by more "
        "than [prices] drift_tolerance, with no push in flight to fix it: someone or something changed it "
        "outside trueup. Every unit sold is mispriced by the money at risk.",
        "Find who changed the price in the storefront (an admin edit, another integration) and stop it; "
        "then run `trueup sync prices --full` and resolve the exception.",
    ),
    Reason.ORPHANED_ORDER: ReasonInfo(
        Owner.ECOMMERCE,
        "Paid order not posted (found by the orphan sweep)",
        "The orphan sweep, a second net behind observation, found a paid, not cancelled storefront order "
        "that had no row in trueup's ledger although observation had read past it, or that has waited or "
        "retried longer than the SLA ([checks.orphans] sla_minutes). trueup's own observation missed it, "
        "so the sweep put the order into the ledger to post (the text says whether it did). The finding "
        "clears by itself on a later sweep once the order is linked to its ERP sales order.",
        "Usually none: the sweep has already queued the order and the finding clears once it posts. If it "
        "stays open, read the order's own ledger row (`trueup exceptions show <order id>`) and the log for "
        "why it does not post, then tell the integrator: observation should never miss an order.",
        Side.TRUEUP,
    ),
    Reason.MISSING_IN_ERP: ReasonInfo(
        Owner.ECOMMERCE,
        "Linked order the ERP does not know",
        "trueup linked the order to an ERP sales order, but the ERP's lookup by the storefront order id "
        "finds nothing: the ERP lost it, or someone deleted it there. trueup does not re-send it on its "
        "own, because the deletion may have been deliberate. The finding clears by itself once the ERP "
        "finds the order again.",
        "Ask the ERP team whether the sales order was deleted on purpose. If it should be there, retry "
        "this exception: the next sweep sends the order again (idempotent on the order id). If it was "
        "deleted on purpose, resolve the exception with a note.",
        Side.ERP,
    ),
    Reason.AWAITING_ORDER: ReasonInfo(
        Owner.WAREHOUSE,
        "Despatch waiting for its order to be posted",
        "The ERP despatched an order that trueup has not recorded as posted yet (its post is still in "
        "flight, or a batch ERP has not acknowledged the order file). The despatch is re-checked on a "
        "schedule and becomes a shipment once the order is linked; it is not an error.",
        "Usually none. If it waits for hours, look up the order's own exception (`trueup exceptions show "
        "<order id>`): an order posted outside trueup must be resolved there, then retry this one.",
        Side.TRUEUP,
    ),
    Reason.UNMAPPED_DESPATCH_CARRIER: ReasonInfo(
        Owner.WAREHOUSE,
        "Despatch carrier not mapped to a storefront carrier",
        "The ERP despatched with a carrier/service that no entry in [mappings.carriers] names, so trueup "
        "cannot tell the storefront which carrier the tracking number belongs to.",
        'Add the carrier to [mappings.carriers] in trueup.toml (e.g. "yodel_standard" = "YODEL/48"), then '
        "retry the exceptions with this reason: the despatches ship with their tracking.",
        Side.TRUEUP,
    ),
    Reason.DESPATCH_UNMATCHED: ReasonInfo(
        Owner.WAREHOUSE,
        "Despatch does not match the storefront order",
        "The ERP despatched an order the storefront does not have, or SKUs or quantities the storefront "
        "order does not have left to ship, and no existing shipment accounts for them.",
        "Compare the despatch note in the ERP with the storefront order; correct the despatch in the ERP or "
        "ship the difference by hand in the storefront, then resolve (or retry) the exception.",
        Side.ERP,
    ),
    Reason.SHIPMENT_REFUSED: ReasonInfo(
        Owner.WAREHOUSE,
        "Storefront refused the shipment",
        "The storefront would not create the shipment (e.g. Magento's 400 'The order does not allow a "
        "shipment to be created': the order is cancelled, on hold or closed), and no existing shipment "
        "covers the despatch.",
        "Read the storefront's message in the exception; release the hold or check why the order was "
        "cancelled while the warehouse shipped it, then retry.",
    ),
    Reason.STALLED_ORDER: ReasonInfo(
        Owner.WAREHOUSE,
        "Order posted but not despatched in time",
        "A check found an order the ERP has had for longer than [flows.despatches] stalled_after_hours "
        "without a single despatch: the customer is waiting and the money is taken.",
        "Find the order in the ERP's warehouse screens and despatch or cancel it; once it is despatched "
        "(or cancelled on both sides) resolve the finding with a note.",
        Side.ERP,
    ),
    Reason.STATUS_DRIFT: ReasonInfo(
        Owner.WAREHOUSE,
        "Despatched in the ERP, not shipped in the storefront",
        "A check found a despatch the ERP made more than [flows.despatches] drift_grace_hours ago that is "
        "still not a storefront shipment: the order shows as processing and the customer has no tracking.",
        "Look at the despatch's own row (`trueup exceptions show <erp>:<despatch id>`): usually its order is "
        "not posted yet or the storefront keeps refusing; fix that, then resolve the finding.",
        Side.TRUEUP,
    ),
    Reason.LEDGER_ORPHANED: ReasonInfo(
        Owner.FINANCE,
        "Sale not in the ERP's ledger",
        "The reconciliation found a storefront order invoiced in the period with no ERP invoice for it: "
        "revenue and VAT are understated in the ERP.",
        "Check whether the order posted (`trueup exceptions show <order>`); if it did not, retry it; if the "
        "ERP has it under another reference, raise the invoice by the suggested journal, then resolve.",
        Side.ERP,
    ),
    Reason.LEDGER_UNKNOWN: ReasonInfo(
        Owner.FINANCE,
        "ERP document with no storefront sale",
        "The ERP's ledger holds an invoice or credit note for an order id the storefront has no such "
        "document for in the period (a manual posting, a test order, or a document posted twice).",
        "Find the document in the ERP; reverse it if it is a duplicate or a test, or resolve with a note "
        "saying where the sale came from.",
        Side.ERP,
    ),
    Reason.LEDGER_NET_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Net sales differ between storefront and ERP",
        "The order's net (goods and shipping, after discounts) in the ERP differs from the storefront's by "
        "more than [checks.reconcile] money_tolerance_minor.",
        "Compare the invoice in both systems; correct the ERP invoice or post the suggested journal, then "
        "resolve with a note.",
        Side.ERP,
    ),
    Reason.LEDGER_TAX_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "VAT differs beyond rounding",
        "The ERP's tax for the order differs from the storefront's by more than rounding can explain: a "
        "different rate or taxable amount.",
        "Check the tax code on the ERP item and the storefront tax rule for the country; correct the wrong "
        "side and post the suggested journal, then resolve.",
        Side.ERP,
    ),
    Reason.LEDGER_TAX_ROUNDING: ReasonInfo(
        Owner.FINANCE,
        "VAT rounding difference",
        "The ERP's tax differs by no more than rounding can explain (per-line vs per-document, half up vs "
        "half even); the finding names the rule that reproduces the ERP's figure where one does.",
        "Post the rounding difference to the VAT rounding account (suggested journal) and resolve; if it "
        "recurs, align the ERP's rounding rule with the storefront's.",
        Side.ERP,
    ),
    Reason.LEDGER_SHIPPING_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Shipping charged differs",
        "The shipping the ERP invoiced differs from the storefront's shipping charge.",
        "Check the carriage line on the ERP invoice; correct it or post the suggested journal, then resolve.",
        Side.ERP,
    ),
    Reason.LEDGER_DISCOUNT_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Discount differs",
        "The discount the ERP booked differs from the storefront's discount total.",
        "Check the promotion on the storefront order and the ERP invoice's discount; correct or journal.",
        Side.ERP,
    ),
    Reason.LEDGER_SKU_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Invoice line item differs",
        "A line of the ERP invoice carries a different item than the storefront order's line, or the line "
        "is on one side only: stock and cost of sales are wrong even if the totals agree.",
        "Correct the ERP invoice's lines (credit and re-invoice if it is posted), then resolve.",
        Side.ERP,
    ),
    Reason.LEDGER_QUANTITY_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Invoice quantity differs",
        "A line of the ERP invoice carries a different quantity than the storefront order's line.",
        "Check what was despatched; correct the ERP invoice or the storefront order, then resolve.",
        Side.ERP,
    ),
    Reason.REFUND_WITHOUT_CREDIT_NOTE: ReasonInfo(
        Owner.FINANCE,
        "Refund not credited in the ERP",
        "The storefront refunded the customer (a credit memo) and the ERP has no credit note for the order "
        "in the period: the ERP's sales and VAT are overstated and the debtor is open.",
        "Check the credit note's own exception (it may be parked); retry it, or raise the credit note by "
        "the suggested journal, then resolve.",
        Side.ERP,
    ),
    Reason.CREDIT_NOTE_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Credit note totals differ from the refund",
        "The ERP's credit notes for the order add up to a different net or tax than the storefront's "
        "refunds.",
        "Compare the refund with the ERP credit note; adjust the credit note, then resolve.",
        Side.ERP,
    ),
    Reason.PAYOUT_UNMATCHED: ReasonInfo(
        Owner.FINANCE,
        "Payout line matches no order",
        "A capture, refund or chargeback in a payment provider's settlement file names no order, or an order "
        "that is not a storefront order in the month: money moved that the books do not explain.",
        "Look the provider's reference up in its dashboard; attach it to its order or post it to suspense "
        "by journal, then resolve.",
        Side.STOREFRONT,
    ),
    Reason.PAYOUT_AMOUNT_MISMATCH: ReasonInfo(
        Owner.FINANCE,
        "Payout differs from what the storefront charged",
        "The captures (or refunds) a payment provider settled for the order add up to a different amount "
        "than the storefront charged (or refunded) for it.",
        "Compare the provider's transactions with the order's payments; chase a missing capture or refund "
        "the difference, or journal it, then resolve.",
        Side.STOREFRONT,
    ),
    Reason.REFUND_AWAITING_ORDER: ReasonInfo(
        Owner.FINANCE,
        "Refund waiting for its order to be posted",
        "The storefront refunded an order that trueup has not recorded as posted to the ERP yet, so there "
        "is no ERP order to credit. The refund is re-checked on a schedule and becomes a credit note once "
        "the order is linked; it is not an error.",
        "Usually none. If it waits past [flows.refunds] drift_grace_hours it becomes a refund_drift finding: "
        "look up the order's own exception (`trueup exceptions show <order id>`) and clear that first.",
        Side.TRUEUP,
    ),
    Reason.REFUNDS_WATCHED: ReasonInfo(
        Owner.FINANCE,
        "Refund watched only: the refund flow is off",
        "[flows.refunds] enabled is false in this deployment, so trueup does not post credit notes; it "
        "watches each credit memo and looks for a credit note keyed by hand in the ERP under its id.",
        "Key the credit note in the ERP with the credit memo id as its reference (trueup then sees it and "
        "closes the row), or turn the refund flow on.",
        Side.ERP,
    ),
    Reason.REFUND_DRIFT: ReasonInfo(
        Owner.FINANCE,
        "Refund not in the ERP, or its totals differ",
        "A check found a storefront credit memo older than [flows.refunds] drift_grace_hours with no ERP "
        "credit note (VAT and revenue are overstated in the ERP), or an ERP credit note whose total is not "
        "the credit memo's.",
        "Post (or correct) the credit note in the ERP under the credit memo id, or clear what holds the "
        "refund's own row (`trueup exceptions show refund:<memo id>`); then resolve the finding with a note.",
        Side.ERP,
    ),
    Reason.RESTOCK_NOT_BOOKED: ReasonInfo(
        Owner.WAREHOUSE,
        "Returned units not booked back into ERP stock",
        "A refund flagged lines back to stock, the credit note is posted, but this ERP's connector can "
        "neither book a stock adjustment nor restock from the credit note, so the ERP's stock is short by "
        "the returned units.",
        "Book the returned units into stock in the ERP by hand (the units and SKUs are in the message), then "
        "resolve the exception.",
        Side.ERP,
    ),
    Reason.INVOICE_REFUSED: ReasonInfo(
        Owner.FINANCE,
        "Storefront refused the invoice on despatch",
        "[flows.despatches] invoice_on_despatch is on: the despatch is a shipment, but Magento refused to "
        "invoice and capture what it shipped (the order cannot be invoiced, or the payment refused capture).",
        "Open the order in the Magento admin, invoice (and capture) it by hand or settle the payment, then "
        "resolve the exception.",
        Side.STOREFRONT,
    ),
    Reason.CANCELLED_AFTER_POST: ReasonInfo(
        Owner.WAREHOUSE,
        "Order cancelled in the storefront after it reached the ERP",
        "The customer or e-commerce cancelled the order in the storefront, but the ERP already has it and "
        "its connector cannot cancel it (or the ERP refused: it has despatched): the warehouse may still "
        "pick and ship an order that will not be paid for.",
        "Stop or cancel the sales order in the ERP (or, if it has gone, arrange its return and refund), then "
        "resolve the exception with a note.",
        Side.ERP,
    ),
    Reason.SHORT_SHIPMENT: ReasonInfo(
        Owner.ECOMMERCE,
        "Order closed short: units never shipped",
        "The ERP closed the sales order with a despatch that left units unshipped (it short-shipped: out of "
        "stock, damaged). The customer paid for units that will not come; the exception names them and the "
        'money to refund. Raised when [flows.despatches] short_ship = "exception" (the default).',
        "Refund the named units in the storefront (a credit memo, without return to stock), tell the "
        'customer, then resolve the exception with a note. Or set short_ship = "credit_memo" to let '
        "trueup refund them offline.",
        Side.STOREFRONT,
    ),
    Reason.SHORT_SHIPMENT_REFUND_REFUSED: ReasonInfo(
        Owner.FINANCE,
        "Storefront refused the short-shipment credit memo",
        '[flows.despatches] short_ship = "credit_memo": the ERP short-shipped an order, but the '
        "storefront refused the offline credit memo for the missing units (e.g. the order is not invoiced, "
        "or more would be refunded than was paid).",
        "Read the storefront's message in the exception; refund the named units by hand (or invoice the "
        "order first), then resolve the exception.",
        Side.STOREFRONT,
    ),
    Reason.ITEM_REJECTED: ReasonInfo(
        Owner.ECOMMERCE,
        "Storefront refused a product",
        "The storefront would not create or update the product for this ERP item (Magento answered 400: a "
        "SKU longer than 64 characters, a negative weight, an attribute value it does not know). The rest "
        "of its batch was saved; the storefront keeps the product as it was, or has none.",
        "Read the storefront's message in the exception; correct the item in the ERP (or create the "
        "attribute option in the storefront), then resolve the exception: the item is offered again on "
        "every pass until the storefront takes it.",
        Side.ERP,
    ),
    Reason.DUPLICATE_SKU: ReasonInfo(
        Owner.ECOMMERCE,
        "Two ERP items share one SKU",
        "The ERP's item master holds the SKU more than once (the exception names each ERP item id), so "
        "trueup cannot tell which item the storefront product is. None of them is sent to the storefront "
        "until the SKU is unique again; orders for the SKU still post against the item map.",
        "Give each ERP item its own SKU in the ERP (or discontinue the copy), then resolve the exception; "
        "the next item sync sends the product.",
        Side.ERP,
    ),
    Reason.SKU_RENAMED: ReasonInfo(
        Owner.ECOMMERCE,
        "SKU renamed in the ERP",
        "An ERP item trueup sent to the storefront under one SKU (same ERP item id or barcode) now has a "
        "new SKU. trueup sends the new SKU as its own product and never deletes the old one, so the "
        "storefront now shows both; the old product keeps its reviews, URLs and order history.",
        "Decide in the storefront what happens to the old product: disable it (or redirect its URL to the "
        "new one) and move its descriptions and images across; then resolve the exception.",
        Side.ERP,
    ),
    Reason.DYNAMIC_BUNDLE_SKU: ReasonInfo(
        Owner.ECOMMERCE,
        "Dynamic bundle SKU in the ERP's item master",
        "The ERP's item master holds a SKU made of other SKUs joined with '-' (e.g. SOFA-LEG-CUSHION), as "
        "Magento writes a dynamic-SKU bundle's order lines. Such a SKU is not a product: creating it "
        "would sell the bundle twice over, so it is not sent to the storefront.",
        "If it is a real item, give it a SKU of its own in the ERP; if it is a bundle, keep it as a "
        "bundle in the storefront and remove the row from the ERP's item master. Then resolve the "
        "exception.",
        Side.ERP,
    ),
}


def owner_of(reason: Reason) -> Owner:
    return REASONS[reason].owner


class Action(StrEnum):
    """What a person can do with an exception (trueup.queue.actions implements each, audited)."""

    RETRY = "retry"  # after fixing the cause: plan and post it again
    ACCEPT_AND_POST = "accept_and_post"  # post with the storefront's figures; finance reconciles the variance
    MAP_AND_RETRY = "map_and_retry"  # add a SKU or carrier mapping, retry every exception it unblocks
    EDIT_AND_POST = "edit_and_post"  # correct the address held by trueup, then post
    RESOLVE = "resolve"  # fixed outside trueup (e.g. keyed into the ERP by hand)
    IGNORE = "ignore"  # needs nothing


_COMMON = (Action.RETRY, Action.RESOLVE, Action.IGNORE)

# The actions each reason offers, first the one that usually fixes it. Reasons not named offer _COMMON.
ACTIONS: dict[Reason, tuple[Action, ...]] = {
    Reason.TAX_VARIANCE: (Action.ACCEPT_AND_POST, *_COMMON),
    Reason.TOTALS_MISMATCH: (Action.ACCEPT_AND_POST, *_COMMON),
    Reason.UNKNOWN_SKU: (Action.MAP_AND_RETRY, *_COMMON),
    Reason.INACTIVE_SKU: (Action.MAP_AND_RETRY, *_COMMON),
    Reason.UNMAPPED_CARRIER: (Action.MAP_AND_RETRY, *_COMMON),
    Reason.ADDRESS_TOO_LONG: (Action.EDIT_AND_POST, *_COMMON),
    Reason.ADDRESS_INVALID: (Action.EDIT_AND_POST, *_COMMON),
    Reason.INVALID_POSTCODE: (Action.EDIT_AND_POST, *_COMMON),
    Reason.UNREPRESENTABLE_TEXT: (Action.EDIT_AND_POST, *_COMMON),
}

# What map_and_retry maps for a reason: a storefront SKU, or a storefront shipping method.
MAPS: dict[Reason, str] = {
    Reason.UNKNOWN_SKU: "sku",
    Reason.INACTIVE_SKU: "sku",
    Reason.UNMAPPED_CARRIER: "carrier",
}


def actions_for(reason: Reason | str | None) -> tuple[Action, ...]:
    """The actions an exception with this reason offers (the common three for an unknown or no reason)."""
    try:
        return ACTIONS.get(Reason(reason or ""), _COMMON)
    except ValueError:
        return _COMMON
