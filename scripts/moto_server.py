"""moto's server as `scripts/stack up aws` runs it, with two changes that make it last.

moto 5.2.5 backs a TransactWriteItems up by deep-copying every table it names, once per item
of the transaction, to put the copies back when a condition fails. Under a service that packs
100 items into a transaction that is 100 copies of the whole table per request: seconds per
request on a table of some thousand items, and the server grew by about a GiB a minute. And
its backends are not thread-safe: a copy taken while another request thread changes the table
fails ("dictionary changed size during iteration") and the client gets a 500.

Here
  * a transaction checks every condition first (nothing is written when one fails) and keeps
    a journal of the items it changes, undone in reverse if a write fails: the cost is that of
    the transaction's own items;
  * requests are served one at a time (a lock around the application), as a single-threaded
    server would, while connections stay on their own threads (a kept-alive idle connection
    blocks nobody).
Everything else is moto's. Usage: python moto_server.py -H HOST -p PORT (moto_server's flags).

With `--enforce-iam KEYFILE` (`scripts/stack up aws-iam`) every request must be signed by an IAM
user's key and is allowed only by that user's policies, as moto evaluates them (actions for
every service; resources for S3 only; no condition keys). An administrator user is made before
the server starts (in moto's IAM backend, so no request goes unchecked) and its key written to
KEYFILE as `ACCESS_KEY_ID SECRET_ACCESS_KEY`: the tests set up users, tables and buckets with it.
"""

import json
import sys
import threading

from moto import server
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication


def _key_of(backend, kind, op):
    """The key a transaction member writes: the Put item's key attributes, or its Key."""
    if kind != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: op["Item"][name] for name in names}


def _transact_write_items(self, transact_items):
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    members = []
    targets = set()
    for entry in transact_items:
        if len(entry) != 1:
            raise TransactWriteSingleOpException
        kind, op = next(iter(entry.items()))
        if kind not in ("ConditionCheck", "Put", "Delete", "Update"):
            raise MockValidationException("unsupported transaction member " + kind)
        key = _key_of(self, kind, op)
        target = (op["TableName"], json.dumps(key, sort_keys=True))
        if target in targets:
            raise MultipleTransactionsException()
        targets.add(target)
        members.append((kind, op, key))

    # Every condition against the items as they are: all hold, or nothing is written.
    reasons = []
    for kind, op, key in members:
        condition = op.get("ConditionExpression")
        holds = True
        if condition is not None:
            current = self.get_item(op["TableName"], key)
            check = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            holds = check.expr(current)
        if holds:
            reasons.append((None, None, None))
        else:
            reasons.append(("ConditionalCheckFailed", "The conditional request failed", None))
    if any(code is not None for code, _, _ in reasons):
        raise TransactionCanceledException(reasons)

    # The writes, with the items as they were before each (None: absent) to undo them.
    journal = []
    failed_at = None
    try:
        for index, (kind, op, key) in enumerate(members):
            failed_at = index
            table_name = op["TableName"]
            before = self.get_item(table_name, key)
            journal.append((table_name, key, json.loads(json.dumps(before.to_json()["Attributes"])) if before else None))
            if kind == "Put":
                self.put_item(table_name, op["Item"])
            elif kind == "Delete":
                self.delete_item(table_name, key)
            elif kind == "Update":
                self.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=op.get("ExpressionAttributeNames"),
                    expression_attribute_values=op.get("ExpressionAttributeValues"),
                )
    except Exception as error:
        for table_name, key, attributes in reversed(journal):
            if attributes is None:
                if self.get_item(table_name, key) is not None:
                    self.delete_item(table_name, key)
            else:
                self.put_item(table_name, attributes)
        if isinstance(error, MockValidationException):
            raise
        reasons = [(None, None, None)] * len(members)
        reasons[failed_at] = (type(error).__name__, str(error), None)
        raise TransactionCanceledException(reasons)


DynamoDBBackend.transact_write_items = _transact_write_items

_one_at_a_time = threading.Lock()
_dispatch = DomainDispatcherApplication.__call__


def _serialised(self, environ, start_response):
    with _one_at_a_time:
        # The whole body is produced under the lock (moto's answers are lists of bytes).
        return list(_dispatch(self, environ, start_response))


DomainDispatcherApplication.__call__ = _serialised

def _enforce_iam(keyfile):
    from moto import settings
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    iam = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    iam.create_user(region_name="us-east-1", user_name="cdc-test-admin")
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy("cdc-test-admin", "everything", json.dumps(everything))
    key = iam.create_access_key("cdc-test-admin")
    with open(keyfile, "w") as out:
        out.write(f"{key.access_key_id} {key.secret_access_key}\n")
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--enforce-iam" in args:
        at = args.index("--enforce-iam")
        _enforce_iam(args[at + 1])
        del args[at : at + 2]
    server.main(args)
