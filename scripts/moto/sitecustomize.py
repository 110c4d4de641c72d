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
