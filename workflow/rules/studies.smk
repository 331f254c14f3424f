# The studies of i-DQN's loss design (agents/studies.py): the loss ablation of Fig 9a with the
# diversity study of Figs 9b/c (config `ablations`), and the sensitivity study (config
# `sensitivity`). Each setting is a list of --set items on top of presets.idqn; its runs go to
# RUNS/<study>/<setting>/<game>/s<seed>/. Targets `ablations` and `sensitivity`, both in `all`.


rule ablations:
    """The loss ablation (Fig 9a) and the diversity study (Figs 9b/c)."""
    input:
        study_reports("ablations"),


rule sensitivity:
    """The sensitivity study."""
    input:
        study_reports("sensitivity"),
