"""Infrastructure every stage shares; none of it imports TensorFlow.

* :mod:`.errors`: :class:`BlueprintError`, its location, and the one error formula.
* :mod:`.registry`: the :class:`Registry` each kind of component is kept in.
* :mod:`.files`: atomic writes (temporary file, then :func:`os.replace`).
* :mod:`.paths`: where a blueprint may read and write.
* :mod:`.limits`: the parameter and data budgets checked before anything is allocated.
"""
