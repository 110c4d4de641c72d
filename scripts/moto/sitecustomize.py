"""Imported by every moto_server this project starts (scripts/lib/moto.ts puts this folder first on
PYTHONPATH). moto rolls a failed TransactWriteItems back by restoring a copy of each table taken when
the transaction began, which erases every write that other request threads made in the meantime.
DynamoDB isolates transactions, so here moto serves DynamoDB requests one at a time; every other
service stays concurrent. test/integration/moto-account.test.ts checks this is in force.
"""

import threading

try:
    from moto.dynamodb.responses import DynamoHandler
except ImportError:  # an interpreter without moto: nothing to patch
    DynamoHandler = None

if DynamoHandler is not None:
    _one_at_a_time = threading.Lock()
    _call_action = DynamoHandler.call_action

    def _serialized_call_action(self):
        with _one_at_a_time:
            return _call_action(self)

    DynamoHandler.call_action = _serialized_call_action

# moto backs a transaction up by deep-copying every table it names, so each TransactWriteItems
# costs time in proportion to the whole table (most of a 10,000-resource sweep in the bench).
# DynamoDB's own cost does not grow with the table. Here the backup is only the items the
# transaction touches: moto's whole-table copy becomes the live table itself (so its rollback
# assigns a table to itself), and a failed transaction puts each touched item back as it was.
# Requests are served one at a time (above), so nothing else writes in between.
# MOTO_WHOLE_TABLE_BACKUP=1 keeps moto's own behaviour (the bench measures both).
import copy as _copy
import os as _os

try:
    from moto.dynamodb import models as _dynamo_models
    from moto.dynamodb.models.table import Table as _Table
except ImportError:
    _dynamo_models = None

if _dynamo_models is not None and _os.environ.get("MOTO_WHOLE_TABLE_BACKUP") != "1":

    class _LiveTables:
        """Stands in for the copy module inside moto's DynamoDB models during a transaction."""

        def __getattr__(self, name):
            return getattr(_copy, name)

        @staticmethod
        def deepcopy(value, memo=None):
            return value if isinstance(value, _Table) else _copy.deepcopy(value, memo)

    def _key_of(backend, op_type, op):
        table = backend.get_table(op["TableName"])
        if op_type != "Put":
            return op["Key"]
        attrs = op["Item"]
        key = {table.hash_key_attr: attrs[table.hash_key_attr]}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = attrs[table.range_key_attr]
        return key

    def _touched_items(backend, transact_items):
        """(table, key, item as it is now or None) for every item the transaction names."""
        touched = []
        for entry in transact_items:
            try:
                op_type, op = next(iter(entry.items()))
                key = _key_of(backend, op_type, op)
                item = backend.get_item(op["TableName"], key)
            except Exception:  # moto reports a malformed operation itself
                continue
            before = _copy.deepcopy(item.to_json()["Attributes"]) if item is not None else None
            touched.append((op["TableName"], key, before))
        return touched

    def _put_back(backend, touched):
        for table_name, key, before in reversed(touched):
            if before is not None:
                backend.put_item(table_name, before)
            elif backend.get_item(table_name, key) is not None:
                backend.delete_item(table_name, key)

    _transact_write_items = _dynamo_models.DynamoDBBackend.transact_write_items

    def _transact_backing_up_touched_items(self, transact_items):
        touched = _touched_items(self, transact_items)
        whole_table_copy = _dynamo_models.copy
        _dynamo_models.copy = _LiveTables()
        try:
            return _transact_write_items(self, transact_items)
        except Exception:
            _put_back(self, touched)
            raise
        finally:
            _dynamo_models.copy = whole_table_copy

    _dynamo_models.DynamoDBBackend.transact_write_items = _transact_backing_up_touched_items

# EC2 enforces the rules-per-group quota (60 in a VPC) separately for inbound and outbound rules and
# separately for IPv4 and IPv6; moto counts both families together. Counted per family here, so a
# test can fill a group to AWS's quota (60 IPv4 and 60 IPv6 inbound). A rule that references a
# group or a prefix list counts in both families.
try:
    from moto.ec2.exceptions import RulesPerSecurityGroupLimitExceededError
    from moto.ec2.models.security_groups import SecurityGroupBackend
except ImportError:
    SecurityGroupBackend = None

if SecurityGroupBackend is not None:

    def _family(ip_range):
        cidr = ip_range.get("CidrIpv6", "") if isinstance(ip_range, dict) else str(ip_range)
        return "ipv6" if ":" in cidr else "ipv4"

    def _rule_count_limit_per_family(
        self, group, current_rule_nb, ip_ranges, source_groups=None, egress=False
    ):
        limit = 60 if group.vpc_id else 100
        rules = group.egress_rules if egress else group.ingress_rules
        added = [_family(ip_range) for ip_range in ip_ranges or []]
        for family in ("ipv4", "ipv6"):
            existing = sum(
                1 for rule in rules if not rule.ip_range or _family(rule.ip_range) == family
            )
            if existing + added.count(family) + len(source_groups or []) > limit:
                raise RulesPerSecurityGroupLimitExceededError

    SecurityGroupBackend._verify_group_will_respect_rule_count_limit = (
        _rule_count_limit_per_family
    )

# Classic Load Balancers: AWS answers DescribeLoadBalancerPolicies without a load balancer name with
# its predefined policies (ELBSecurityPolicy-*), each listing the protocols it allows; moto knows no
# predefined policy and refuses the call. Served here for the few the tests and the rules name, so a
# policy made from a `Reference-Security-Policy` can be judged as in AWS.
try:
    from moto.elb.exceptions import PolicyNotFoundError
    from moto.elb.models import ELBBackend
    from moto.elb.policies import OtherPolicy
except ImportError:
    ELBBackend = None

if ELBBackend is not None:
    _PREDEFINED_PROTOCOLS = {
        "ELBSecurityPolicy-2016-08": ("TLSv1", "TLSv1.1", "TLSv1.2"),
        "ELBSecurityPolicy-TLS-1-1-2017-01": ("TLSv1.1", "TLSv1.2"),
        "ELBSecurityPolicy-TLS-1-2-2017-01": ("TLSv1.2",),
    }

    def _predefined(name):
        protocols = _PREDEFINED_PROTOCOLS[name]
        attributes = [
            {"AttributeName": f"Protocol-{version}", "AttributeValue": str(version in protocols).lower()}
            for version in ("SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2")
        ]
        return OtherPolicy(name, "SSLNegotiationPolicyType", attributes)

    _describe_policies = ELBBackend.describe_load_balancer_policies

    def _describe_with_predefined(self, lb_name, policy_names):
        if lb_name:
            return _describe_policies(self, lb_name, policy_names)
        names = policy_names or list(_PREDEFINED_PROTOCOLS)
        if any(name not in _PREDEFINED_PROTOCOLS for name in names):
            raise PolicyNotFoundError()
        return [_predefined(name) for name in names]

    ELBBackend.describe_load_balancer_policies = _describe_with_predefined
