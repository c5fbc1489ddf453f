//! recueil-pipeline
