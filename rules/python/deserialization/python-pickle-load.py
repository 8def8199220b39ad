import json
import marshal
import pickle


def read_model(path):
    with open(path, "rb") as handle:
        # ruleid: python-pickle-load
        return pickle.load(handle)


def read_code(blob):
    # ruleid: python-pickle-load
    return marshal.loads(blob)


def read_settings(text):
    # ok: python-pickle-load
    return json.loads(text)


def write_model(model, handle):
    # ok: python-pickle-load
    pickle.dump(model, handle)
