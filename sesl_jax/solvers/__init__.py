"""Pure-JAX solvers: proximal operators, LRR by inexact ALM, BNNR by ADMM, and their shared loop.

Every solver returns its result with ``SolverStats`` (iterations, ``Status``) instead of
raising, so a batch of problems can be vmapped; a concrete argument out of range raises at the
call, a traced one gives ``Status.INVALID_INPUT``. Numerical hyper-parameters are traced
(``LRRParams``, ``BNNRParams``); iteration caps and algorithm switches are static.
"""

from sesl_jax.solvers._bnnr import (
    BNNR_SVT_METHODS, BNNRParams, BNNRResult, BNNRState, bnnr_complete, bnnr_init, bnnr_step, bounded_admm_step,
    check_bnnr_params,
)
from sesl_jax.solvers._driver import SolverStats, Status, iterate
from sesl_jax.solvers._lrr import (
    LRR_SIDES, LRR_SVT_METHODS, LRRParams, LRRProblem, LRRResult, LRRState, check_lrr_params, lrr_ialm, lrr_init,
    lrr_problem, lrr_step,
)
from sesl_jax.solvers._prox import (
    SubspaceBasis, column_shrink, default_subspace_rank, subspace_basis, subspace_tolerance, svt, svt_gram,
    svt_sign, svt_subspace, svt_symmetric,
)

__all__ = [
    "BNNR_SVT_METHODS", "BNNRParams", "BNNRResult", "BNNRState", "bnnr_complete", "bnnr_init", "bnnr_step",
    "bounded_admm_step", "check_bnnr_params",
    "SolverStats", "Status", "iterate",
    "LRR_SIDES", "LRR_SVT_METHODS", "LRRParams", "LRRProblem", "LRRResult", "LRRState", "check_lrr_params", "lrr_ialm", "lrr_init",
    "lrr_problem", "lrr_step",
    "SubspaceBasis", "column_shrink", "default_subspace_rank", "subspace_basis", "subspace_tolerance", "svt",
    "svt_gram", "svt_sign", "svt_subspace", "svt_symmetric",
]
