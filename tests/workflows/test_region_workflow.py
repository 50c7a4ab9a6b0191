"""The regional implementation workflow on plain objects."""

import pytest

from mda.vocabulary import BlockStatus, MdaStatus
from mda.workflows import region as wf
from mda.workflows.trajectory import Refused

B = BlockStatus


def facts(status=MdaStatus.NONE, **blocks):
    result = wf.RegionFacts(status=status)
    for name, value in blocks.items():
        result.blocks[int(name[1:])] = value
    return result


def test_pilot_needs_blocks_3_and_4_under_way():
    region = facts()
    with pytest.raises(Refused) as refused:
        wf.change_status(region, MdaStatus.PILOT)
    assert refused.value.unmet == [
        "pilot needs building block 3 in progress or done (it is not_started)",
        "pilot needs building block 4 in progress or done (it is not_started)",
    ]
    assert region.status is MdaStatus.NONE
    region.blocks[3], region.blocks[4] = B.IN_PROGRESS, B.DONE
    assert wf.change_status(region, MdaStatus.PILOT) == (MdaStatus.NONE, MdaStatus.PILOT)
    assert region.status is MdaStatus.PILOT


def test_structural_needs_all_five_done():
    region = facts(MdaStatus.PILOT, b1=B.DONE, b2=B.DONE, b3=B.DONE, b4=B.DONE, b5=B.IN_PROGRESS)
    with pytest.raises(Refused) as refused:
        wf.change_status(region, MdaStatus.STRUCTURAL)
    assert refused.value.unmet == ["structural needs building block 5 done (it is in_progress)"]
    region.blocks[5] = B.DONE
    wf.change_status(region, MdaStatus.STRUCTURAL)
    assert region.status is MdaStatus.STRUCTURAL


@pytest.mark.parametrize("source", list(MdaStatus))
@pytest.mark.parametrize("dest", list(MdaStatus))
def test_moving_down_needs_a_reason_moving_up_the_blocks(source, dest):
    all_done = {f"b{n}": B.DONE for n in wf.BLOCKS}
    region = facts(source, **all_done)
    if wf.ORDER.index(dest) < wf.ORDER.index(source):
        with pytest.raises(Refused) as refused:
            wf.change_status(region, dest)
        assert refused.value.unmet == [
            f"moving down from {source.value} to {dest.value} needs a reason"
        ]
        assert region.status is source
        wf.change_status(region, dest, reason="the pilot stopped for lack of funding")
    else:
        wf.change_status(region, dest)
    assert region.status is dest


def test_lowering_a_block_under_the_status_is_refused():
    region = facts(MdaStatus.PILOT, b3=B.NOT_STARTED, b4=B.IN_PROGRESS)
    with pytest.raises(Refused) as refused:
        wf.change_status(region, MdaStatus.PILOT)
    assert "lower the status first (with a reason)" in refused.value.unmet


def test_requirements_are_configurable():
    strict = {**wf.REQUIREMENTS, MdaStatus.IN_DEVELOPMENT: {1: B.DONE}}
    with pytest.raises(Refused):
        wf.change_status(facts(), MdaStatus.IN_DEVELOPMENT, requirements=strict)
    wf.change_status(facts(b1=B.DONE), MdaStatus.IN_DEVELOPMENT, requirements=strict)


def test_region_diagram():
    text = wf.diagram()
    assert "none --> pilot: to_pilot [building_blocks_ready]" in text
    assert "structural --> pilot: to_pilot [reason_given]" in text
