"""Network widgets: the layer stack editor and the view of every layer's maps and filters."""
