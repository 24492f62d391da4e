"""The full-screen interface (Textual): message log, peer sidebar, header, input with history.

`ChatApp` is the app and `TuiUi` the Ui the node shows its views through; the rest of this
package are their parts, one job each (see `app.py` for how they fit together).
"""

from p2pchat.ui.tui.app import ChatApp
from p2pchat.ui.tui.bridge import TuiUi

__all__ = ["ChatApp", "TuiUi"]
