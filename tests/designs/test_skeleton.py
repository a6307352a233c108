"""getprior refuses skeletons that reach 1 (or 0) in print, and the designs import fast.

The recursion of Lee & Cheung (2009), skeleton_k = target ** (rho ** (nu - k)), tends to
1 above the prior MTD guess nu and to 0 below it; in double precision values 50 or so
doses above nu are within 1e-6 of 1 and print as 1.0 (issue 9: ``skeleton --num-doses
200``).  The limits below come from that closed form, computed here.
"""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from dosefind.designs.skeleton import getprior

ROOT = Path(__file__).resolve().parents[2]


def closed_form(hw, target, nu, k):
    rho = math.log(target - hw) / math.log(target + hw)
    return target ** (rho ** (nu - k))


def test_two_hundred_doses_are_refused_with_the_limit():
    # the first 1-based dose whose closed-form value is within 1e-6 of 1
    first = next(k for k in range(1, 400) if closed_form(0.05, 0.25, 3, k) >= 1 - 1e-6)
    with pytest.raises(ValueError, match=rf"num_doses must be between 1 and {first - 1} for target=0.25, "
                                         rf"halfwidth=0.05 and nu=3: from dose {first} on .* print as 1.0\), got 200"):
        getprior(0.05, 0.25, 3, 200)
    values = getprior(0.05, 0.25, 3, first - 1)
    assert max(values) < 1 - 1e-6 and all(b > a for a, b in zip(values, values[1:]))


def test_too_many_doses_below_nu_are_refused():
    with pytest.raises(ValueError, match=r"nu must be between 1 and \d+ for target=0.25 and halfwidth=0.05"):
        getprior(0.05, 0.25, 150, 150)


def test_usual_skeletons_are_unchanged():
    # dfcrm getprior(0.05, 0.25, 3, 5): the closed form, dose by dose
    assert getprior(0.05, 0.25, 3, 5) == pytest.approx([closed_form(0.05, 0.25, 3, k) for k in range(1, 6)],
                                                       rel=1e-12)


def test_designs_import_without_scipy_stats():
    # scipy.stats costs most of a second at import, pandas a fraction; neither is needed to
    # import the designs (python -X importtime -c "import dosefind.designs").
    code = ("import sys, dosefind.designs; "
            "print(sorted(m for m in ('scipy.stats', 'pandas', 'scipy.special') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, check=True).stdout
    assert out.strip() == "[]"
