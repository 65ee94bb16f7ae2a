console.log("prepare-baileys: placeholder")
