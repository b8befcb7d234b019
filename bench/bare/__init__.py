"""The bare baselines: the same libraries doing the least possible work, run in the same
benchmark run as the service's figures so that their ratio survives a noisy machine."""
