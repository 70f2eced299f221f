"""Safety bulletins: scheduled and urgent notices to compound rooms, each posted exactly once.

No Matrix here: the edge passes plain values in and carries out the sends through a
``Transport`` and posts the ``Report``s it gets back.
"""
