"""The Help view: convolution -> activation -> pooling, told with the lecture's examples."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

HELP_HTML = """
<h2>What a convolutional layer does</h2>
<p>A CNN layer does three things, and ConvScope shows each one in its own pane:
<b>convolution</b> &rarr; <b>activation</b> &rarr; <b>pooling</b>.</p>

<h3>1. Convolution: a small grid of weights slides over the image</h3>
<p>The <b>kernel</b> is a small grid of numbers, for example 3x3. It is placed over every
position of the input; at each position the 9 input values under it are multiplied by the 9
weights and the products are added up (plus a <i>bias</i>). That sum is one pixel of the
<b>Convolution</b> pane. Hover over any pane: the <b>Inspector</b> shows those 9 multiplications
and their sum, and the dashed box on the input shows which pixels were used (the
<i>receptive field</i>).</p>
<ul>
<li><b>A row of 1s, a row of 0s, a row of -1s</b> (preset <i>horizontal-lines</i>): where the
pixels above are brighter than the pixels below, the sum is large. Horizontal lines and edges
light up; vertical lines give 0 and disappear. Transpose the kernel (<i>vertical-lines</i>)
and the opposite happens.</li>
<li><b>Zeros with a single 1 in the middle</b> (preset <i>identity</i>): each output is just the
pixel under the centre, so you get the image back.</li>
<li>Blur kernels (all weights positive, summing to 1) average the neighbourhood; edge kernels
(weights summing to 0) are 0 on flat areas and respond only where brightness changes.</li>
</ul>
<p>Red means a positive response (the pattern matches), blue a negative one (the opposite
pattern), white zero. <b>Padding</b> decides what happens at the border ('same' keeps the size,
'valid' only keeps positions where the kernel fits, so a 28x28 digit becomes 26x26);
<b>stride</b> skips positions; <b>dilation</b> spreads the taps.</p>

<h3>2. Activation: keep the matches</h3>
<p>A non-linearity is applied to every convolution output. <b>ReLU</b> keeps positive values and
sets negative ones to 0: only places where the pattern matches survive.</p>

<h3>3. Pooling: shrink, but keep where things are</h3>
<p><b>2x2 max pooling</b> keeps the largest value of each 2x2 window, so a 200x200 map becomes
100x100, yet the lines stay where they were: the pooled pane is drawn over the same input
pixels. The next layer, looking at the pooled map with its own 3x3 kernel, sees a larger part
of the image. Stacking layers is how a network goes from lines, to shapes, to eyes and noses.</p>

<h3>Learned filters</h3>
<p>In a Conv2D layer with 32 3x3 filters over a 28x28 digit, nobody writes the weights: they
are <i>learned</i> from examples. Each learned filter still does exactly what you see here: it
highlights where its pattern matches. Try <b>Randomize</b> in the kernel editor to see what an
untrained filter does.</p>

<h3>Networks: every layer at once</h3>
<p>The <b>Network</b> menu holds the lecture's example networks, each with its lesson in the
tooltip. <i>Example: keras-conv32-maxpool</i> is Keras' <code>Conv2D(32, (3, 3))</code> +
<code>MaxPooling2D</code>: open the handwritten 7 (File &gt; Open sample) and choose it, and the
<b>Network</b> dock under the panes shows all 32 maps of 26x26, their ReLU and the 13x13 pooled
maps, each layer as one grid, with the 32 filters under the conv layer.
<i>Example: two-layer-field</i> stacks two conv + pool blocks: hover a unit and the box on the
input shows how much of the image it sees (3, 4, 8, then 10 pixels).</p>
<ul>
<li><b>Click a map</b>: it shows large in the Convolution pane, over the input pixels it came
from (zoom and pan stay linked). <i>Network &gt; Show the kernel's convolution</i> brings the
kernel's output back.</li>
<li><b>Click a filter</b>: its weights load into the kernel editor (one input channel's slice
at a time). Edit them there and the network's filter changes with them: every map follows.</li>
<li><b>Hover</b> any unit: its receptive field is drawn on the input, and for a conv unit the
Inspector shows the sum behind it, one sum per input channel, then their total plus the bias.</li>
<li>The layer list on the left of the dock adds, removes, reorders and configures layers (with
undo). <i>Network &gt; From the current kernel</i> turns the single kernel into a one-layer
network to grow.</li>
<li><b>File &gt; Import model...</b> takes conv layers from a Keras, PyTorch, ONNX, safetensors
or NumPy file (or drop the file on the window); <b>Open/Save network...</b> read and write
network JSON; <b>Export all</b> also writes every layer of the network.</li>
<li><b>Network &gt; Train a digit classifier...</b> trains the dock's network on handwritten
digits; <i>Use these filters</i> brings the learned layers back to the dock.</li>
</ul>

<h3>Live mode: the same layer on moving pictures</h3>
<p>Press <b>Live</b> (Space) in the toolbar and the layer runs on every frame of the chosen
<b>Source</b>: a moving synthetic scene, a video file (drop one on the window; it loops) or a
camera (<i>Find cameras</i> lists them). Edit the kernel while it runs and the next frame uses
it. <b>Freeze</b> (F) holds a frame to study it like a still image, <b>Step</b> (N) shows the
next one; <b>Snapshot</b> (Ctrl+S while live) saves the frame on screen into a folder asked
for once; <b>Record</b> (Ctrl+R) writes the chosen pane to a video. The status bar shows the
frame rate and how many frames were dropped while the layer was busy.</p>

<h3>Tips</h3>
<ul>
<li>Scroll or drag on a kernel cell to nudge its value; Ctrl+Z undoes.</li>
<li>Pan and zoom any pane: all three follow. Ctrl+0 fits the image again.</li>
<li>Drag the levels on a pane's histogram to change its contrast.</li>
<li>File &rarr; Export all (Ctrl+S) saves the input, kernel and outputs.</li>
<li>Drop an image, a kernel .json or a video on the window (or paste a copied file).</li>
<li>Hover the pooled pane to see its pooling window and which value won.</li>
</ul>
"""


def show_help(parent: QWidget | None = None) -> QDialog:
    """Open the Help view (non-modal) and return it."""
    dialog = QDialog(parent)
    dialog.setWindowTitle("How ConvScope works")
    dialog.resize(720, 640)
    browser = QTextBrowser()
    browser.setHtml(HELP_HTML)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.close)
    layout = QVBoxLayout(dialog)
    layout.addWidget(browser)
    layout.addWidget(buttons)
    dialog.show()
    return dialog
