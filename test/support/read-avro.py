"""Reads Avro container files with fastavro (an independent reader) and prints, for each, its
header metadata (the writer's schema as written, raw) and its records as JSON (bytes as hex)."""
import json
import sys

import fastavro


def plain(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


out = []
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        reader = fastavro.reader(f)
        metadata = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in reader.metadata.items()}
        out.append({"path": path, "metadata": metadata, "records": [plain(r) for r in reader]})
print(json.dumps(out))
