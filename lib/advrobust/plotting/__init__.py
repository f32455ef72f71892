"""The book's figures, one module per kind (each chapter imports the module it needs):

* :mod:`.style`: the style and the profile stamp (applied by :class:`advrobust.experiments.report.Results`);
* :mod:`.images`: adversarial examples and image grids;
* :mod:`.curves`: robust accuracy against eps, distortion histograms, curves against queries;
* :mod:`.hard_label_2d`: Figures 2.1-2.4, the hard-label objective on 2-D classifiers;
* :mod:`.toys`: Figure 4.1's decision boundaries;
* :mod:`.defenses`: Chapter 4's loss landscapes (Figure 4.2), eps curves and CAT's eps_i over training;
* :mod:`.sprout`: Chapter 5's radar scores (Figure 5.1), ablation bars (5.5), β_s·β_t (5.8) and
  accuracy curves against eps, L2 budget, steps or width (5.2, 5.3, 5.6, 5.7, 5.9).

Figures take results (data frames, grids, tensors) and never compute them.
"""
