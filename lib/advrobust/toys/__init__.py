"""The thesis's 2-D illustrations, computed exactly: the hard-label objective g(θ) of Figures 2.1-2.4
(:mod:`.hard_label_2d`) and the margin toy of Figure 4.1 (:mod:`.margin`)."""
