"""Tables added by this area (registered into lake.schemas.TABLES): billed costs and prices.

``billed_costs`` holds AWS billing export line items (legacy CUR and CUR 2.0 Data Exports), one
row per line item and hour. Split cost allocation rows (one per ECS task / Batch job, vCPU and
memory, per hour) sit beside their parent instance rows and are marked by
``split_parent_resource_id``. Never add a split row's cost to its parent's: that double counts.

``prices`` holds the dated price tables the estimates used, so SQL can price baselines (what Spot
usage would have cost On-Demand, what archived bytes would have cost in Standard).
"""

from __future__ import annotations

import pyarrow as pa

from lake.schemas import _TAGS, TS, _f, _spec, register

BILLED_COSTS = register(
    _spec(
        "billed_costs",
        "AWS billing export line items (legacy CUR or CUR 2.0), one row per line item and hour; "
        "split cost allocation rows are marked by split_parent_resource_id.",
        key=("line_item_id", "time_interval", "usage_type", "resource_id"),
        time_column="usage_start_at",
        order_by="recorded_at",
        # AWS restates a month's bill until it closes: a changed line is a new version that
        # wins (the latest load), while loading the same file again still writes nothing.
        version="*",
        fields=[
            _f("line_item_id", pa.string(), "identity_line_item_id", nullable=False),
            _f(
                "time_interval",
                pa.string(),
                "identity_time_interval, e.g. 2018-10-01T00:00:00Z/…",
                nullable=False,
            ),
            _f("usage_start_at", TS, "line_item_usage_start_date", nullable=False),
            _f("usage_end_at", TS, "line_item_usage_end_date"),
            _f("billing_period_start_at", TS, "bill_billing_period_start_date"),
            _f("payer_account_id", pa.string(), "bill_payer_account_id"),
            _f("usage_account_id", pa.string(), "line_item_usage_account_id"),
            _f(
                "line_item_type",
                pa.string(),
                "Usage | DiscountedUsage | RIFee | SavingsPlanCoveredUsage | Tax | Credit | …",
            ),
            _f("product_code", pa.string(), "line_item_product_code, e.g. AmazonEC2"),
            _f("usage_type", pa.string(), "line_item_usage_type, e.g. USE1-SpotUsage:f1.2xlarge"),
            _f("operation", pa.string(), "line_item_operation"),
            _f("availability_zone", pa.string(), "line_item_availability_zone"),
            _f("region", pa.string(), "product_region_code (CUR 2.0) or product_region (legacy)"),
            _f(
                "resource_id",
                pa.string(),
                "line_item_resource_id: i-… for instances, a task ARN for split rows",
            ),
            _f(
                "instance_type",
                pa.string(),
                "product_instance_type, else the type in the usage type",
            ),
            _f(
                "capacity",
                pa.string(),
                "spot | on-demand | reserved | savings-plan, from the usage and "
                "line item types; null for non-instance usage",
            ),
            _f("usage_amount", pa.float64(), "line_item_usage_amount, in pricing_unit"),
            _f("pricing_unit", pa.string(), "pricing_unit, e.g. Hrs, GB-Mo"),
            _f(
                "unblended_rate_usd",
                pa.float64(),
                "line_item_unblended_rate (a string in legacy CUR)",
            ),
            _f("unblended_cost_usd", pa.float64(), "line_item_unblended_cost", nullable=False),
            _f(
                "net_unblended_cost_usd", pa.float64(), "line_item_net_unblended_cost, when present"
            ),
            _f("public_on_demand_cost_usd", pa.float64(), "pricing_public_on_demand_cost"),
            _f("currency_code", pa.string(), "line_item_currency_code"),
            *_TAGS,
            _f(
                "resource_tags",
                pa.map_(pa.string(), pa.string()),
                "Every resource tag of the line item, keys as exported (user_project, aws_…)",
            ),
            _f("split_parent_resource_id", pa.string(), "Split rows: the instance the task ran on"),
            _f(
                "split_usage",
                pa.float64(),
                "split_line_item_split_usage (vCPU-h or GB-h allocated)",
            ),
            _f("split_usage_ratio", pa.float64(), "split_line_item_split_usage_ratio"),
            _f("split_reserved_usage", pa.float64(), "split_line_item_reserved_usage"),
            _f("split_actual_usage", pa.float64(), "split_line_item_actual_usage"),
            _f("split_cost_usd", pa.float64(), "split_line_item_split_cost: the task's share"),
            _f(
                "split_unused_cost_usd",
                pa.float64(),
                "split_line_item_unused_cost: its share of idle",
            ),
            _f("split_net_split_cost_usd", pa.float64(), "split_line_item_net_split_cost"),
            _f(
                "split_public_on_demand_cost_usd",
                pa.float64(),
                "split_line_item_public_on_demand_split_cost",
            ),
            _f("export_format", pa.string(), "legacy-cur | cur2", nullable=False),
            _f("source_file", pa.string(), "File the row was loaded from"),
            _f("source_row", pa.int32(), "Row number in that file, from 1"),
        ],
    )
)

PRICES = register(
    _spec(
        "prices",
        "Dated, sourced unit prices (EC2 On-Demand and Spot, S3, services) used by estimates.",
        key=("price_kind", "region", "item", "availability_zone", "effective_from_at"),
        time_column="effective_from_at",
        order_by="recorded_at",
        # A corrected file is a new version of its rows that wins; the same content loaded
        # again writes nothing. The replaced version stays in the raw_ view for audit.
        version="*",
        fields=[
            _f(
                "price_kind",
                pa.string(),
                "ec2-on-demand | ec2-spot | s3-storage | service",
                nullable=False,
            ),
            _f("region", pa.string(), "AWS region", nullable=False),
            _f("item", pa.string(), "Instance type, storage class or service item", nullable=False),
            _f(
                "availability_zone",
                pa.string(),
                "Zone of a Spot price, '' when region-wide",
                nullable=False,
            ),
            _f("unit", pa.string(), "hour | GB-month | TB | 1M requests | GB-s | Gbase | …"),
            _f("usd", pa.float64(), "Price per unit", nullable=False),
            _f("effective_from_at", TS, "When the price took effect", nullable=False),
            _f("effective_to_at", TS, "When the next price took effect (null: still in effect)"),
            _f("price_status", pa.string(), "list | approximate"),
            _f("source", pa.string(), "Where the price comes from"),
            _f("instance_vcpus", pa.int32(), "EC2: vCPUs of the instance type"),
            _f("instance_memory_gib", pa.float64(), "EC2: memory of the instance type, GiB"),
            _f("min_storage_days", pa.int32(), "S3: minimum storage duration of the class"),
        ],
    )
)

BILLING_FILES = register(
    _spec(
        "billing_files",
        "Billing export files loaded into billed_costs, one row per file version (size and "
        "modification time): the ledger that lets the scheduled loader read only new or "
        "rewritten export files.",
        key=("source", "version"),
        time_column="last_modified_at",
        fields=[
            _f("source", pa.string(), "The export file's URI", nullable=False),
            _f("version", pa.string(), "<size>@<modification time, ns> of the file loaded",
               nullable=False),
            _f("last_modified_at", TS, "When the export wrote this version", nullable=False),
            _f("size_bytes", pa.int64(), "Its size"),
            _f("export_format", pa.string(), "legacy-cur | cur2"),
            _f("rows_read", pa.int64(), "Line items read"),
            _f("rows_loaded", pa.int64(), "Rows written to billed_costs (0: all known already)"),
            _f("quarantined", pa.int64(), "Line items sent to quarantine"),
            _f("unblended_cost_usd", pa.float64(), "Sum of the valid rows' unblended cost"),
        ],
    )
)

INSTANCES = register(
    _spec(
        "instances",
        "EC2 instance state changes of the compute environments' instances (EventBridge "
        "\"EC2 Instance State-change Notification\", DescribeInstances, or the simulated "
        "executor), one row per instance and state: what the instance is billed for, from "
        "running to shutting-down (view instance_lives).",
        key=("instance_id", "state"),
        time_column="state_at",
        order_by="state_at",
        # One state reported twice at the same time (the event and DescribeInstances): the
        # winner does not depend on write order.
        tie_break=("source",),
        fields=[
            _f("instance_id", pa.string(), "EC2 instance id, i-…", nullable=False),
            _f("state", pa.string(),
               "pending | running | shutting-down | terminated | stopping | stopped",
               nullable=False),
            _f("state_at", TS, "When the instance entered the state (the event's time; "
               "LaunchTime for pending from DescribeInstances)", nullable=False),
            _f("instance_type", pa.string(), "EC2 instance type (DescribeInstances)"),
            _f("capacity", pa.string(), "spot | on-demand (DescribeInstances InstanceLifecycle)"),
            _f("availability_zone", pa.string(), "Placement.AvailabilityZone"),
            _f("region", pa.string(), "AWS region"),
            _f("account_id", pa.string(), "AWS account"),
            _f("source", pa.string(), "ec2-event | describe-instances (the simulator sends both)"),
            _f("event_id", pa.string(), "Id of the EventBridge event, when from one"),
        ],
    )
)
