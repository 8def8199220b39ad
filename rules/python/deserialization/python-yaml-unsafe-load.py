import yaml


def read(path):
    with open(path) as handle:
        # ruleid: python-yaml-unsafe-load
        return yaml.load(handle)


def read_all(text):
    # ruleid: python-yaml-unsafe-load
    return list(yaml.load_all(text, Loader=yaml.FullLoader))


def read_safely(text):
    # ok: python-yaml-unsafe-load
    first = yaml.load(text, Loader=yaml.SafeLoader)
    # ok: python-yaml-unsafe-load
    return first, yaml.safe_load(text)
