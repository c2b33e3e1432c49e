"""Dockyard's stand-in for the parts of SageMaker's XGBoost container that framework-mode
training scripts import: :func:`data_utils.get_dmatrix` and :func:`distributed.rabit_run`.

The container's package is not published as a package, so this is what a script gets; anything
else it imports from it fails with the module's name.
"""
