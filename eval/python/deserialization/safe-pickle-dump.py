import pickle


def save(model, path):
    with open(path, "wb") as handle:
        pickle.dump(model, handle)
