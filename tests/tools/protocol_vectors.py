#!/usr/bin/env python3
"""protocol_vectors.py -- checks docs/protocol-vectors.json without any of
dealernet's code and without a protobuf library: the way a third-party
implementer would, from docs/PROTOCOL.md alone.

From the hex in the file it decodes each event's protobuf bytes by hand
(varints and length-delimited fields) and compares every field with the
field values the file lists, recomputes each event's SHA-256 and the
chain (event 1 names 32 zero bytes, each next one the hash of the one
before), rebuilds the bytes a batch signature covers
("dealernet-batch-v1" NUL site NUL last-seq as 8 bytes big-endian, chain
head), the PushBatch and the SyncMessage around it, and the Hello; then,
with the openssl command line, derives the public key from the seed and
verifies the Ed25519 signature, and checks that a signature over one
changed byte does not verify.  Downstream: decodes the Down's catalogue
items and the DownReply around them, recomputes the SHA-256 over the
framed items and the signed bytes ("dealernet-down-v1" NUL, stream 4
bytes big-endian, scope length 1 byte and scope, from and to 8 bytes
big-endian each, reset and more 1 byte each, the items' hash), and
verifies the down key's signature the same way.  Stream items: decodes
one DownItem of each kind (catalogue, earnings, member, notice) against
its listed fields, packs those fields again by hand (each present field
in field-number order, a negative int64 as ten varint bytes) to the same
bytes, and recomputes the catalogue's scope of a partner path (the
SHA-256 of its codes, top first, each followed by a newline).

Prints one line per check, NAME<TAB>EXPECTED<TAB>GOT, for
tests/cli/protocol_vectors.sh to count; exits 0 (the shell judges).

    usage: protocol_vectors.py FILE
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import uuid


def out(name, expected, got):
    print("%s\t%s\t%s" % (name, expected, got))


def varint(data, at):
    value, shift = 0, 0
    while True:
        b = data[at]
        at += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, at


def enc_varint(v):
    b = bytearray()
    while True:
        if v > 0x7F:
            b.append((v & 0x7F) | 0x80)
            v >>= 7
        else:
            b.append(v)
            return bytes(b)


def fields(data):
    """[(field number, wire type, value)]: ints for varints, bytes else."""
    result, at = [], 0
    while at < len(data):
        tag, at = varint(data, at)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, at = varint(data, at)
        elif wire == 2:
            n, at = varint(data, at)
            value, at = data[at:at + n], at + n
        else:
            raise ValueError("wire type %d in the vectors" % wire)
        result.append((number, wire, value))
    return result


def one(fs, number):
    got = [v for n, _, v in fs if n == number]
    return got[0] if len(got) == 1 else None


def many(fs, number):
    return [v for n, _, v in fs if n == number]


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def text(b):
    return b.decode("utf-8") if b is not None else None


def uid(b):
    return str(uuid.UUID(bytes=bytes(b)))


# Event body field numbers (proto/dealernet.proto), and how to read them.
BODIES = {10: "sale", 11: "refund", 12: "member_signup", 13: "member_update"}


def body_values(kind, fs):
    if kind == "sale":
        lines = []
        for raw in many(fs, 1):
            lf = fields(raw)
            line = {"sku": text(one(lf, 1)), "quantity": signed64(one(lf, 2)),
                    "unit_price": signed64(one(lf, 3))}
            if one(lf, 4) is not None:
                line["category"] = text(one(lf, 4))
            lines.append(line)
        sale = {"lines": lines, "total": signed64(one(fs, 2)), "currency": text(one(fs, 3)),
                "member_phone": text(one(fs, 4)), "member_id": uid(one(fs, 5)),
                "channel": one(fs, 6), "seller": text(one(fs, 7))}
        # protocol 3: the receipt number (uint64) and payment (enum), when present
        if one(fs, 8) is not None:
            sale["receipt"] = one(fs, 8)
        if one(fs, 9) is not None:
            sale["payment"] = one(fs, 9)
        return sale
    if kind == "refund":
        lines = [{"sku": text(one(fields(r), 1)), "quantity": signed64(one(fields(r), 2))}
                 for r in many(fs, 2)]
        return {"sale_id": uid(one(fs, 1)), "lines": lines, "amount": signed64(one(fs, 3)),
                "currency": text(one(fs, 4))}
    if kind == "member_signup":
        return {"member_id": uid(one(fs, 1)), "phone": text(one(fs, 2)),
                "name": text(one(fs, 3)), "referrer_partner": text(one(fs, 5)),
                "household": one(fs, 6)}
    return {"member_id": uid(one(fs, 1)), "phone": text(one(fs, 2)), "household": one(fs, 4)}


def openssl(args, data=None):
    return subprocess.run(["openssl"] + args, input=data, capture_output=True)


def ed25519_checks(name, seed, pub, signed, signature):
    """Public key from the seed, the signature, one changed byte: 3 checks."""
    r = openssl(["pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
                bytes.fromhex("302e020100300506032b657004220420") + seed)
    out("%s: public key from the seed" % name, pub.hex(), r.stdout[-32:].hex())
    with tempfile.TemporaryDirectory() as d:
        paths = {n: os.path.join(d, n) for n in ("pub.der", "msg", "bad", "sig")}
        open(paths["pub.der"], "wb").write(bytes.fromhex("302a300506032b6570032100") + pub)
        open(paths["msg"], "wb").write(signed)
        open(paths["bad"], "wb").write(signed[:-1] + bytes([signed[-1] ^ 1]))
        open(paths["sig"], "wb").write(signature)
        verify = ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey",
                  paths["pub.der"], "-rawin", "-sigfile", paths["sig"], "-in"]
        r = openssl(verify + [paths["msg"]])
        out("%s: signature verifies (openssl)" % name, "0 Signature Verified Successfully",
            "%d %s" % (r.returncode, r.stdout.decode().strip()))
        r = openssl(verify + [paths["bad"]])
        out("%s: signature over a changed byte fails (openssl)" % name, "1",
            "%d" % r.returncode)


def down_checks(dv):
    """The downstream vector: 9 checks."""
    items = [bytes.fromhex(i["bytes"]) for i in dv["items"]]
    for n, (raw, want) in enumerate(zip(items, dv["items"]), 1):
        cat = fields(one(fields(raw), 1))  # DownItem field 1: catalog
        got = {"sku": text(one(cat, 1)), "name": text(one(cat, 2)),
               "price": signed64(one(cat, 4)), "effective_ms": signed64(one(cat, 5))}
        if one(cat, 3) is not None:
            got["category"] = text(one(cat, 3))
        if one(cat, 8) is not None:
            got["fixed"] = bool(one(cat, 8))
        want = {k: v for k, v in want.items() if k != "bytes"}
        out("down: item %d fields" % n, json.dumps(want, sort_keys=True, ensure_ascii=False),
            json.dumps(got, sort_keys=True, ensure_ascii=False))
    h = hashlib.sha256()
    for raw in items:
        h.update(len(raw).to_bytes(4, "big") + raw)
    out("down: sha256 over the framed items", dv["items_sha256"], h.hexdigest())
    scope = bytes.fromhex(dv["scope"])
    signed = (b"dealernet-down-v1\x00" + dv["stream"].to_bytes(4, "big") +
              bytes([len(scope)]) + scope + dv["from_version"].to_bytes(8, "big") +
              dv["to_version"].to_bytes(8, "big") + bytes([int(dv["reset"])]) +
              bytes([int(dv["more"])]) + h.digest())
    out("down: signed bytes", dv["signed_bytes"], signed.hex())
    out("down: signed bytes length", str(18 + 4 + 1 + len(scope) + 8 + 8 + 1 + 1 + 32),
        str(len(signed)))
    reply = fields(one(fields(bytes.fromhex(dv["sync_message"])), 9))  # SyncMessage.down
    df = fields(one(reply, 1))  # DownReply.downs[0]
    got = {"stream": one(df, 1), "scope": one(df, 2).hex(), "from_version": one(df, 3),
           "to_version": one(df, 4), "reset": bool(one(df, 5)), "more": bool(one(df, 7)),
           "items": [x.hex() for x in many(df, 6)], "signature": one(df, 8).hex()}
    want = {"stream": dv["stream"], "scope": dv["scope"], "from_version": dv["from_version"],
            "to_version": dv["to_version"], "reset": dv["reset"], "more": dv["more"],
            "items": [i["bytes"] for i in dv["items"]], "signature": dv["signature"]}
    out("down: sync message field 9, DownReply, Down", json.dumps(want, sort_keys=True),
        json.dumps(got, sort_keys=True))
    key = dv["down_key"]
    ed25519_checks("down", bytes.fromhex(key["ed25519_seed"]),
                   bytes.fromhex(key["ed25519_public"]), signed,
                   bytes.fromhex(dv["signature"]))


# The stream items' messages (proto/dealernet.proto): name, number, type.
ITEM_FIELDS = {
    "catalog": (1, [("sku", 1, "string"), ("name", 2, "string"), ("category", 3, "string"),
                    ("price", 4, "int64"), ("effective_ms", 5, "int64"),
                    ("partner", 6, "string"), ("depth", 7, "uint"), ("fixed", 8, "bool"),
                    ("removed", 9, "bool")]),
    "earnings": (2, [("partner", 1, "string"), ("period", 2, "string"),
                     ("currency", 3, "string"), ("balance", 4, "int64"),
                     ("commission", 5, "int64"), ("referral", 6, "int64"),
                     ("clawback", 7, "int64"), ("last_payout", 8, "int64"),
                     ("last_payout_ms", 9, "int64"), ("as_of_ms", 10, "int64"),
                     ("opening", 11, "int64"), ("override", 12, "int64"),
                     ("adjustment", 13, "int64"), ("payouts", 14, "int64")]),
    "member": (3, [("phone", 1, "string"), ("name", 2, "string"), ("credit", 3, "int64"),
                   ("as_of_ms", 4, "int64")]),
    "notice": (4, [("id", 1, "uint"), ("text", 2, "string"), ("sent_ms", 3, "int64")]),
}


def enc_field(number, kind, value):
    if kind == "string":
        data = value.encode("utf-8")
        return enc_varint(number << 3 | 2) + enc_varint(len(data)) + data
    if kind == "bool":
        value = int(value)
    return enc_varint(number << 3) + enc_varint(value % (1 << 64))


def stream_item_checks(sv):
    """The stream items and the catalogue's scope: 3 checks an item, 2 more."""
    for n, it in enumerate(sv["items"], 1):
        raw = bytes.fromhex(it["bytes"])
        number, schema = ITEM_FIELDS[it["kind"]]
        outer = fields(raw)
        out("stream item %d: DownItem field of its kind" % n, "%d of stream %d" % (number, number),
            "%s of stream %d" % (",".join(str(f) for f, _, _ in outer), it["stream"]))
        body = one(outer, number)
        fs = fields(body)
        got = {}
        for name, num, kind in schema:
            v = one(fs, num)
            if v is None:
                continue
            got[name] = (text(v) if kind == "string" else bool(v) if kind == "bool"
                         else signed64(v) if kind == "int64" else v)
        out("stream item %d: %s fields decoded" % (n, it["kind"]),
            json.dumps(it["fields"], sort_keys=True, ensure_ascii=False),
            json.dumps(got, sort_keys=True, ensure_ascii=False))
        packed = b"".join(enc_field(num, kind, it["fields"][name]) for name, num, kind in schema
                          if name in it["fields"])
        again = enc_varint(number << 3 | 2) + enc_varint(len(packed)) + packed
        out("stream item %d: %s fields packed again" % (n, it["kind"]), it["bytes"], again.hex())
    sc = sv["catalog_scope"]
    text_ = "".join(code + "\n" for code in sc["path"])
    out("catalog scope: text of the path", json.dumps(sc["text"]), json.dumps(text_))
    out("catalog scope: sha256 of the path and of no path",
        sc["sha256"] + " " + sc["sha256_no_path"],
        hashlib.sha256(text_.encode("ascii")).hexdigest() + " " + hashlib.sha256(b"").hexdigest())


def main():
    v = json.load(open(sys.argv[1], encoding="utf-8"))
    head = bytes(32)
    packed = []
    for e in v["events"]:
        seq = e["seq"]
        b = bytes.fromhex(e["bytes"])
        packed.append(b)
        fs = fields(b)
        out("event %d: sha256" % seq, e["sha256"], hashlib.sha256(b).hexdigest())
        out("event %d: prev_hash is the hash before it" % seq, head.hex(), e["prev_hash"])
        out("event %d: field 5 prev_hash" % seq, e["prev_hash"], one(fs, 5).hex())
        out("event %d: field 1 id" % seq, e["id"], uid(one(fs, 1)))
        out("event %d: field 2 site" % seq, e["site"], text(one(fs, 2)))
        out("event %d: field 3 seq" % seq, str(seq), str(one(fs, 3)))
        out("event %d: field 4 recorded_at_ms" % seq, str(e["recorded_at_ms"]),
            str(signed64(one(fs, 4))))
        kinds = [BODIES[n] for n, _, _ in fs if n in BODIES]
        out("event %d: one body" % seq, e["kind"], ",".join(kinds))
        number = [n for n, k in BODIES.items() if k == e["kind"]][0]
        got = body_values(e["kind"], fields(one(fs, number)))
        out("event %d: body fields" % seq, json.dumps(e["body"], sort_keys=True,
                                                      ensure_ascii=False),
            json.dumps(got, sort_keys=True, ensure_ascii=False))
        head = hashlib.sha256(b).digest()

    bt = v["batch"]
    site = v["events"][-1]["site"].encode("ascii")
    last = bt["last_seq"]
    out("batch: chain head is the last event's hash", head.hex(), bt["chain_head"])
    signed = b"dealernet-batch-v1\x00" + site + b"\x00" + last.to_bytes(8, "big") + head
    out("batch: signed bytes", bt["signed_bytes"], signed.hex())
    out("batch: signed bytes length", str(19 + len(site) + 1 + 8 + 32), str(len(signed)))
    push = bytes.fromhex(bt["push_batch"])
    pf = fields(push)
    out("push: field 1 first_seq", str(bt["first_seq"]), str(one(pf, 1)))
    out("push: field 2 events", "|".join(p.hex() for p in packed),
        "|".join(x.hex() for x in many(pf, 2)))
    out("push: field 3 chain_head", bt["chain_head"], one(pf, 3).hex())
    out("push: field 4 signature", bt["signature"], one(pf, 4).hex())
    out("sync message: field 3 push", bt["sync_message"],
        (b"\x1a" + enc_varint(len(push)) + push).hex())

    hello = v["hello"]
    hf = fields(one(fields(bytes.fromhex(hello["sync_message"])), 1))
    got = {"protocol": one(hf, 1), "agent_version": text(one(hf, 2)), "pending": one(hf, 3),
           "clock_ms": signed64(one(hf, 4)), "head_seq": one(hf, 5),
           "oldest_pending_ms": signed64(one(hf, 6))}
    out("hello: fields", json.dumps(hello["fields"], sort_keys=True),
        json.dumps(got, sort_keys=True))

    # Ed25519 with the openssl command line: PKCS#8 and SPKI DER wrappers
    # of the raw 32-byte seed and public key (RFC 8410).
    seed = bytes.fromhex(v["key"]["ed25519_seed"])
    pub = bytes.fromhex(v["key"]["ed25519_public"])
    r = openssl(["pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
                bytes.fromhex("302e020100300506032b657004220420") + seed)
    out("key: public key from the seed", pub.hex(), r.stdout[-32:].hex())
    with tempfile.TemporaryDirectory() as d:
        paths = {n: os.path.join(d, n) for n in ("pub.der", "msg", "bad", "sig")}
        open(paths["pub.der"], "wb").write(bytes.fromhex("302a300506032b6570032100") + pub)
        open(paths["msg"], "wb").write(signed)
        open(paths["bad"], "wb").write(signed[:-1] + bytes([signed[-1] ^ 1]))
        open(paths["sig"], "wb").write(bytes.fromhex(bt["signature"]))
        verify = ["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey",
                  paths["pub.der"], "-rawin", "-sigfile", paths["sig"], "-in"]
        r = openssl(verify + [paths["msg"]])
        out("signature verifies (openssl)", "0 Signature Verified Successfully",
            "%d %s" % (r.returncode, r.stdout.decode().strip()))
        r = openssl(verify + [paths["bad"]])
        out("signature over a changed byte fails (openssl)", "1",
            "%d" % r.returncode)
    down_checks(v["down"])
    stream_item_checks(v["stream_items"])


if __name__ == "__main__":
    main()
