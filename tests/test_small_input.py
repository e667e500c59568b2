"""Small local inputs run in one in-process worker when the worker count is automatic (start-up)."""

from __future__ import annotations

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions

from pipeline.inputs import input_sizes, is_small
from pipeline.runners import one_process_for_small_input


def test_local_bytes_are_summed_over_article_files_only(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.txt").write_bytes(b"x" * 600)
    (tmp_path / "2.jsonl").write_bytes(b"x" * 300)
    (tmp_path / "big.png").write_bytes(b"x" * 10_000)
    assert sorted(input_sizes(f"{tmp_path}/**")) == [300, 600]
    assert is_small(input_sizes(f"{tmp_path}/**"), 1000)
    assert not is_small(input_sizes(f"{tmp_path}/**"), 900)
    assert is_small(input_sizes(f"{tmp_path}/a/1.txt"), 601)
    assert not is_small(iter(lambda: 1, 0), 1 << 20)  # stops at the limit, however many sizes follow


def test_only_the_automatic_direct_worker_count_is_changed():
    auto = PipelineOptions(["--direct_running_mode=multi_processing", "--direct_num_workers=0"])
    assert one_process_for_small_input(auto)
    assert (auto.view_as(DirectOptions).direct_running_mode, auto.view_as(DirectOptions).direct_num_workers) == (
        "in_memory",
        1,
    )
    for flags in (
        ["--direct_running_mode=multi_processing", "--direct_num_workers=2"],
        ["--runner=PortableRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=0"],
    ):
        options = PipelineOptions(flags)
        assert not one_process_for_small_input(options)
        assert options.view_as(DirectOptions).direct_running_mode == "multi_processing"
