"""The JSON Schema of graph files, installed as the package data `graphrun.schemas`."""
