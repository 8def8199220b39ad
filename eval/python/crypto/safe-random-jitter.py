import random
import time


def backoff(attempt):
    time.sleep(min(30, 2 ** attempt) + random.random())
