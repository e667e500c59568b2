"""The Beam plugin of a run on s3://: imported by every SDK worker before it runs anything (`--beam_plugins`)."""

from transforms.object_stores import install

install()
