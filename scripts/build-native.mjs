// Placeholder replaced by the backend work: builds the optional OpenBLAS addon.
console.log('poisonlab: native addon not built yet');
